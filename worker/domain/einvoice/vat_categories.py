"""Which VAT category (EN 16931 BT-151, UNTDID 5305) each invoice line carries. Pure.

The worker never decides a tax rate: the order's line carries it (`tax_rate`) and the invoice
charges exactly that. The category states *why* the line is taxed as it is, from the rate, the
seller's country (the booking country's selling entity), the buyer's country and whether the
buyer has a VAT id:

| rate | seller | buyer | category | exemption reason (BT-120 / BT-121) |
|---|---|---|---|---|
| > 0 | any | any | S standard rated | none (BR-S-10) |
| 0 | any | same country | Z zero rated | none (BR-Z-10) |
| 0 | in the EU | another EU country | AE reverse charge | "Reverse charge" / VATEX-EU-AE |
| 0 | in the EU | outside the EU | O not subject to VAT | "Not subject to VAT" / VATEX-EU-O |
| 0 | outside the EU | another country | O not subject to VAT | "Not subject to VAT" / VATEX-EU-O |

Why Z and not E for a domestic supply at 0 %: the order states a *rate* of zero, not an exemption.
E (exempt) requires a legal exemption reason (BR-E-10: the article of the VAT directive or national
law) that nothing in the order or the account carries, and claiming an exemption the seller cannot
name would misstate the supply; Z says what the order says: taxable, at 0 %. E stays in the model
and the rules (BR-E-08, BR-E-10) for a caller that knows the reason.

Why AE for every cross-border EU line at 0 %: a 0 % rate between two member states is the reverse
charge (VAT directive 2006/112/EC art. 196 for services). The buyer's VAT id is what makes it lawful:
without one, the document fails BR-AE-02 and the gate holds it with that rule, rather than the table
quietly picking another category.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

#: The EU member states (ISO 3166-1 alpha-2; Greece's VAT prefix is EL, its country code GR), as of
#: 2026: Council of the EU, 27 members since the United Kingdom left on 31 January 2020.
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()  # noqa: SIM905
)

STANDARD_RATED = "S"
ZERO_RATED = "Z"
EXEMPT = "E"
REVERSE_CHARGE = "AE"
NOT_SUBJECT_TO_VAT = "O"

#: VATEX codes (CEF VAT exemption reason code list) and their standard texts.
REVERSE_CHARGE_REASON = ("Reverse charge", "VATEX-EU-AE")
NOT_SUBJECT_REASON = ("Not subject to VAT", "VATEX-EU-O")


@dataclass(frozen=True)
class VatCategory:
    code: str  # BT-151 / BT-118
    exemption_reason: str | None = None  # BT-120
    exemption_reason_code: str | None = None  # BT-121


def vat_category(*, rate: Decimal, seller_country: str, buyer_country: str) -> VatCategory:
    """The category of a line taxed at `rate` (a fraction: 0.21), by the table above."""
    if rate > 0:
        return VatCategory(STANDARD_RATED)
    if seller_country == buyer_country:
        return VatCategory(ZERO_RATED)
    if seller_country in EU_MEMBER_STATES and buyer_country in EU_MEMBER_STATES:
        return VatCategory(REVERSE_CHARGE, *REVERSE_CHARGE_REASON)
    return VatCategory(NOT_SUBJECT_TO_VAT, *NOT_SUBJECT_REASON)
