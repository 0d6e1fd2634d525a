"""Payment guidance (DOMAIN.md section 3): which options an invoice email shows. Pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.data.countries import card_limits, countries
from worker.domain.payments import ONLINE_METHODS, REMITTANCE_FIELDS, payment_options


def options(total: str, country: str | None = "US", currency: str = "USD"):
    return payment_options(
        total=Decimal(total),
        currency=currency,
        country=country,
        reference="INV-0000001",
        country_facts=countries(),
        limits=card_limits(),
    )


def test_under_2000_in_a_card_country_the_card_is_the_only_option() -> None:
    chosen = options("1999.99")
    assert chosen.card_only and chosen.online_methods == ("card",)
    assert not chosen.bank_transfer and chosen.remittance == ()
    assert chosen.reference == "INV-0000001"


def test_from_2000_the_bank_transfer_and_the_portal_methods_are_offered() -> None:
    chosen = options("2000.00")
    assert not chosen.card_only and chosen.bank_transfer
    assert chosen.online_methods == ("card", "paypal")
    assert dict(chosen.remittance)["routing_number"] == "026009593"


def test_the_card_limit_includes_99999_99_and_excludes_a_cent_more() -> None:
    assert options("99999.99").card
    above = options("100000.00")
    assert not above.card and above.bank_transfer and above.online_methods == ("paypal",)


def test_a_country_that_does_not_accept_cards_never_offers_the_card_even_when_small() -> None:
    chosen = options("500", country="JP", currency="JPY")
    assert not chosen.card and not chosen.card_only and chosen.bank_transfer
    assert chosen.online_methods == ()  # JP offers no online payment
    assert dict(chosen.remittance)["bank"].startswith("MUFG")


def test_online_methods_follow_the_country() -> None:
    assert options("5000", country="NL", currency="EUR").online_methods == ("card", "paypal", "direct_debit")
    assert options("5000", country="FR", currency="EUR").online_methods == ("card",)
    assert options("5000", country="IN", currency="INR").online_methods == ("direct_debit",)


def test_remittance_details_are_those_of_the_invoice_currency() -> None:
    eur = dict(options("5000", country="NL", currency="EUR").remittance)
    usd = dict(options("5000", country="NL", currency="USD").remittance)
    assert eur["iban"] != usd["iban"] and eur["bic"] == usd["bic"] == "ABNANL2A"


def test_an_unknown_country_or_currency_gets_bank_transfer_without_card() -> None:
    unknown = options("500", country="ZZ")
    assert unknown.bank_transfer and not unknown.card and unknown.remittance == ()
    no_limits = options("500", country="IN", currency="INR")
    assert no_limits.bank_transfer and not no_limits.card


@pytest.mark.parametrize("country", ["NL", "BE", "DE", "FR", "GB", "US", "JP"])
def test_the_country_data_file_has_every_field_for(country: str) -> None:
    facts = countries()[country]
    assert {"default_locale", "currency", "cards_accepted", "online_portal", "remittance"} <= facts.keys()
    assert isinstance(facts["cards_accepted"], bool)
    assert set(facts["online_portal"]) <= set(ONLINE_METHODS)
    assert facts["currency"] in facts["remittance"]
    for details in facts["remittance"].values():
        assert set(details) <= set(REMITTANCE_FIELDS)


def test_the_card_limits_come_from_the_data_file() -> None:
    usd = card_limits()["USD"]
    assert (usd.card_max, usd.card_only_below) == (Decimal("99999.99"), Decimal("2000.00"))


@pytest.mark.parametrize(
    ("country", "currency", "methods"),
    [
        ("US", "USD", "bank_ach_cheque"),  # a routing number and a cheque address
        ("CA", "CAD", "bank_cheque"),  # a cheque address, no ACH
        ("DE", "EUR", "bank"),
        ("JP", "JPY", "bank"),
        ("NL", "USD", "bank"),
    ],
)
def test_ach_and_cheque_are_offered_only_where_the_remittance_details_have_them(
    country: str, currency: str, methods: str
) -> None:
    # Given an invoice above the card-only limit, in the country's remittance currency
    chosen = options("50000", country, currency)
    # Then the offline methods are what the remittance details support, nothing more
    assert chosen.transfer_methods == methods
