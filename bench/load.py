"""The benchmark's load: contract events for M orders across every supported locale and country,
each order with several lines and an account whose contacts are copied (Cc).

Deterministic for a given seed; event ids and order ids carry a run tag so that two runs against
one Redis do not collide (the same event id twice would have the effect of once).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.data.countries import COUNTRIES_FILE
from worker.domain.locales import SUPPORTED_LOCALES

_COUNTRIES_FILE = COUNTRIES_FILE
_PRODUCTS = (
    ("Compute", "iaas"),
    ("Block Storage", "iaas"),
    ("Autonomous Database", "paas"),
    ("Integration Cloud", "paas"),
    ("Fusion ERP", "saas"),
    ("HCM Cloud", "saas"),
    ("Premier Support", "support"),
    ("Pooled Capacity", "pooled"),
)
# Names with accents and an apostrophe: RFC 2047 encoded words and escaping are exercised.
_NAMES = ("Els de Vries", "Jürgen Müller", "Zoë O'Brien", "Anaïs Lefèvre", "Jan Jansen", "Siobhán Ní Bhriain")


@dataclass
class OrderLoad:
    """One order's events: `setup` (account, order) first, then its `activations`."""

    order_id: str
    setup: list[dict[str, Any]] = field(default_factory=list)
    activations: list[dict[str, Any]] = field(default_factory=list)

    def lines(self, events: list[dict[str, Any]]) -> list[str]:
        return [json.dumps(e) for e in events]


def countries() -> dict[str, dict[str, str]]:
    return json.loads(_COUNTRIES_FILE.read_text(encoding="utf-8"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _contact(rng: random.Random, email: str, locale: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": rng.choice(_NAMES), "email": email}
    if locale:
        out["locale"] = locale
    return out


def generate_orders(
    count: int, *, run_tag: str, now: datetime, seed: int = 7, lines_per_order: tuple[int, int] = (3, 5)
) -> list[OrderLoad]:
    """`count` orders, each booked on its own account, in round-robin locales and countries."""
    rng = random.Random(seed)
    country_table = sorted(countries().items())
    occurred = _iso(now - timedelta(minutes=5))
    term_start = now.date()
    term = {"start": term_start.isoformat(), "end": (term_start + timedelta(days=364)).isoformat()}
    orders = []
    for i in range(count):
        country, info = country_table[i % len(country_table)]
        # Every third contact has no preference: the country's default locale is used.
        locale = None if i % 3 == 2 else SUPPORTED_LOCALES[i % len(SUPPORTED_LOCALES)]
        account_id, order_id = f"A-{run_tag}-{i}", f"O-{run_tag}-{i}"
        domain = f"customer{i}.example"
        load = OrderLoad(order_id)
        load.setup.append(
            {
                "id": f"{run_tag}-acc-{i}",
                "type": "account.updated",
                "occurred_at": occurred,
                "data": {
                    "account_id": account_id,
                    "name": f"Customer {i} B.V.",
                    "country": country,
                    "sector": "commercial",
                    "ula": False,
                    "pay_as_you_go": False,
                    "contacts": {
                        "dunning": _contact(rng, f"ar@{domain}"),
                        "account_relationship": _contact(rng, f"rel@{domain}"),
                    },
                },
            }
        )
        lines = []
        for n in range(rng.randint(*lines_per_order)):
            product, kind = _PRODUCTS[rng.randrange(len(_PRODUCTS))]
            lines.append(
                {
                    "line_id": f"L{n + 1}",
                    "product": product,
                    "kind": kind,
                    "annual_amount": f"{rng.randint(1, 400) * 250}.00",
                    "tax_rate": "0.21",
                }
            )
        load.setup.append(
            {
                "id": f"{run_tag}-ord-{i}",
                "type": "order.booked",
                "occurred_at": occurred,
                "data": {
                    "order_id": order_id,
                    "account_id": account_id,
                    "subscription_id": f"S-{run_tag}-{i}",
                    "billing_contact": _contact(rng, f"billing@{domain}", locale),
                    "po_number": f"PO-{i}" if i % 2 else None,
                    "payment_method": "invoice",
                    "currency": info.get("currency", "USD"),
                    "billing_frequency": "annual_in_advance",
                    "term": term,
                    "lines": lines,
                },
            }
        )
        load.activations = [
            {
                "id": f"{run_tag}-act-{i}-{line['line_id']}",
                "type": "service.activated",
                "occurred_at": _iso(now),
                "data": {"order_id": order_id, "line_id": line["line_id"], "activated_at": _iso(now)},
            }
            for line in lines
        ]
        orders.append(load)
    return orders
