"""The VAT category table: what each line's rate, the seller's and the buyer's countries make it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.domain.einvoice.vat_categories import EU_MEMBER_STATES, VatCategory, vat_category


@pytest.mark.parametrize(
    ("rate", "seller", "buyer", "expected"),
    [
        # VAT charged: standard rated, whoever buys
        ("0.21", "NL", "NL", VatCategory("S")),
        ("0.19", "DE", "FR", VatCategory("S")),
        ("0.20", "GB", "US", VatCategory("S")),
        # 0 % at home: zero rated, no exemption reason
        ("0", "NL", "NL", VatCategory("Z")),
        ("0", "US", "US", VatCategory("Z")),
        # 0 % between two member states: reverse charge
        ("0", "NL", "DE", VatCategory("AE", "Reverse charge", "VATEX-EU-AE")),
        ("0", "FR", "BE", VatCategory("AE", "Reverse charge", "VATEX-EU-AE")),
        # 0 % to a buyer outside the EU, or from a seller outside it: not subject to (EU) VAT
        ("0", "NL", "US", VatCategory("O", "Not subject to VAT", "VATEX-EU-O")),
        ("0", "DE", "CH", VatCategory("O", "Not subject to VAT", "VATEX-EU-O")),
        ("0", "GB", "FR", VatCategory("O", "Not subject to VAT", "VATEX-EU-O")),
    ],
)
def test_the_category_follows_the_documented_table(rate: str, seller: str, buyer: str, expected: VatCategory) -> None:
    assert vat_category(rate=Decimal(rate), seller_country=seller, buyer_country=buyer) == expected


def test_the_eu_is_its_27_member_states_without_the_united_kingdom() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert "GB" not in EU_MEMBER_STATES and "CH" not in EU_MEMBER_STATES and "NO" not in EU_MEMBER_STATES
    assert {"GR", "HR", "NL", "DE"} <= EU_MEMBER_STATES
