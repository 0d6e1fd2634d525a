"""Orders and accounts of the worked examples of DOMAIN.md section 2, as core values."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from worker.domain.model import Account, Contact, Order, OrderLine

ELS = Contact(name="Els de Vries", email="els@acme.example", locale="nl-NL")


def order_line(line_id: str = "L1", product: str = "Compute", kind: str = "paas", **overrides: Any) -> OrderLine:
    values: dict[str, Any] = {"line_id": line_id, "product": product, "kind": kind, "tax_rate": Decimal("0.21")}
    if "total_contract_value" not in overrides:
        values["annual_amount"] = Decimal("24000.00")
    values.update(overrides)
    return OrderLine(**values)


def order(*lines: OrderLine, **overrides: Any) -> Order:
    """Order O-1 of subscription S-1, 1 Jan - 31 Dec 2026, annual in advance, USD, PO-77."""
    base = Order(
        order_id="O-1",
        account_id="A-100",
        subscription_id="S-1",
        billing_contact=ELS,
        po_number="PO-77",
        payment_method="invoice",
        currency="USD",
        billing_frequency="annual_in_advance",
        term_start=date(2026, 1, 1),
        term_end=date(2026, 12, 31),
        lines=lines or (order_line(),),
    )
    return replace(base, **overrides)


def three_year_order(**overrides: Any) -> Order:
    """Contract value USD 120,000 over a three-year term, annual in advance."""
    values: dict[str, Any] = {"term_end": date(2028, 12, 31)}
    values.update(overrides)
    return order(order_line(annual_amount=Decimal("40000.00")), **values)


def account(sector: str = "commercial", country: str = "NL") -> Account:
    return Account(account_id="A-100", name="Acme B.V.", country=country, sector=sector)
