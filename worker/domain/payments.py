"""What the invoice email tells the customer about paying (DOMAIN.md section 3). Pure.

The facts are data, passed in (loaded by `worker.data.countries`): per country
`worker/data/countries.json` (whether cards are accepted, the online methods of the customer
portal, the remittance details per currency), per currency
`worker/data/card_limits.json` (the card limits). The README ("Payment guidance data") documents both.
The rules:

- always: bank transfer to the remittance details, quoting the invoice number -- except where
  the card is the only accepted method (below); ACH only where the remittance details have a
  routing number, a cheque only where they have a cheque address (a German or Japanese customer
  is never told to send a cheque);
- online payment in the customer portal only with the methods the country offers;
- the card only when the country accepts cards and the total including tax is at most the
  currency's `card_max` (USD 99,999.99);
- the card as the ONLY method when the country accepts cards and the total including tax is
  under the currency's `card_only_below` (USD 2,000.00): one invoice at a time, orders are
  never combined to pass it;
- a currency without limits in the data file is never offered the card (bank transfer is
  always safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: Remittance fields in the order the email lists them (the template gives each its label).
REMITTANCE_FIELDS = (
    "beneficiary",
    "bank",
    "iban",
    "bic",
    "swift",
    "branch",
    "transit_number",
    "bsb",
    "account_type",
    "account_number",
    "clabe",
    "cbu",
    "routing_number",
    "sort_code",
    "ifsc",
    "cheque_address",
)
#: The kinds of bank account an `account_type` field may name (the templates translate each).
ACCOUNT_TYPES = ("ordinary", "current")
#: Online methods of the customer portal, in the order the email lists them.
ONLINE_METHODS = ("card", "paypal", "direct_debit")


@dataclass(frozen=True)
class CardLimits:
    #: The highest total (tax included) a card may pay.
    card_max: Decimal
    #: Below this total (tax included) the card is the only accepted method.
    card_only_below: Decimal


@dataclass(frozen=True)
class PaymentOptions:
    #: Bank transfer (and ACH or cheque where `transfer_methods` says so), quoting `reference`.
    bank_transfer: bool
    #: (field, value) pairs from `REMITTANCE_FIELDS` for the invoice currency; () when unknown.
    remittance: tuple[tuple[str, str], ...]
    #: Methods the customer portal offers for this invoice, "card" included only when allowed.
    online_methods: tuple[str, ...]
    card_only: bool
    #: What to quote with a payment: the invoice number.
    reference: str

    @property
    def card(self) -> bool:
        return "card" in self.online_methods

    @property
    def transfer_methods(self) -> str:
        """Which offline methods the remittance details support: ``bank``, ``bank_ach``,
        ``bank_cheque`` or ``bank_ach_cheque`` (each one whole sentence in the catalogs)."""
        names = {name for name, _ in self.remittance}
        return "bank" + ("_ach" if "routing_number" in names else "") + ("_cheque" if "cheque_address" in names else "")


def payment_options(
    *,
    total: Decimal,
    currency: str,
    country: str | None,
    reference: str,
    country_facts: Mapping[str, Mapping[str, Any]],
    limits: Mapping[str, CardLimits],
) -> PaymentOptions:
    """The payment options an invoice of `total` (tax included) booked in `country` shows."""
    facts = country_facts.get(country or "", {})
    currency_limits = limits.get(currency)
    cards = bool(facts.get("cards_accepted")) and currency_limits is not None
    card_allowed = cards and total <= currency_limits.card_max  # type: ignore[union-attr]
    card_only = cards and total < currency_limits.card_only_below  # type: ignore[union-attr]
    portal = set(facts.get("online_portal", ())) - {"card"}  # the card is decided by the rules above
    if card_allowed:
        portal.add("card")
    online = ("card",) if card_only else tuple(m for m in ONLINE_METHODS if m in portal)
    details = facts.get("remittance", {}).get(currency, {})
    remittance = tuple((name, str(details[name])) for name in REMITTANCE_FIELDS if details.get(name))
    return PaymentOptions(
        bank_transfer=not card_only,
        remittance=remittance if not card_only else (),
        online_methods=online,
        card_only=card_only,
        reference=reference,
    )
