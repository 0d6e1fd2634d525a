"""The per-country data file: enough countries, each complete, in the schema payment_options reads."""

from __future__ import annotations

from decimal import Decimal

import pytest

from worker.data.countries import card_limits, countries, default_locale
from worker.domain.locales import (
    CATALOGS,
    babel_locale,
    catalog_for,
    catalog_language,
    choose_locale,
    normalize_locale,
    renderable,
)
from worker.domain.money import MINOR_UNITS, minor_unit_digits
from worker.domain.payments import ONLINE_METHODS, REMITTANCE_FIELDS

COUNTRIES = sorted(countries())
KNOWN_CURRENCIES = set(MINOR_UNITS)


def test_at_least_forty_countries_are_covered() -> None:
    assert len(COUNTRIES) >= 40
    assert all(len(code) == 2 and code.isupper() for code in COUNTRIES)


@pytest.mark.parametrize("country", COUNTRIES)
def test_each_country_has_every_fact_the_invoice_email_needs(country: str) -> None:
    facts = countries()[country]

    assert set(facts) >= {"default_locale", "currency", "cards_accepted", "online_portal", "remittance"}
    assert facts["currency"] in KNOWN_CURRENCIES
    assert isinstance(facts["cards_accepted"], bool)
    assert set(facts["online_portal"]) <= set(ONLINE_METHODS)
    # The local currency can always be paid by bank transfer, and every detail has a label.
    assert facts["currency"] in facts["remittance"]
    for currency, details in facts["remittance"].items():
        assert currency in KNOWN_CURRENCIES
        assert set(details) <= set(REMITTANCE_FIELDS) and details.get("beneficiary") and details.get("bank")


@pytest.mark.parametrize("country", COUNTRIES)
def test_each_country_default_locale_is_a_real_locale_and_leads_to_a_supported_one(country: str) -> None:
    tag = default_locale(country)

    assert normalize_locale(tag) == tag
    babel_locale(tag)  # raises for what CLDR does not know
    chosen = choose_locale(None, tag)
    assert renderable(chosen)
    # A country whose language has a catalog is written to in its own locale's formats
    if catalog_for(tag) is not None:
        assert chosen == tag


def test_every_catalog_but_canadian_french_is_some_country_default() -> None:
    # Each catalog serves at least one country by default, not only contacts who ask for it;
    # Canadian French is for French-speaking contacts in Canada, whose default is en-CA.
    chosen = {choose_locale(None, default_locale(country)) for country in COUNTRIES}
    assert {catalog_language(loc) for loc in chosen} | {"fr_CA"} == set(CATALOGS)


@pytest.mark.parametrize("country", [c for c in COUNTRIES if countries()[c]["cards_accepted"]])
def test_a_card_country_has_card_limits_in_its_currencies(country: str) -> None:
    # Without limits a currency is never offered the card: a card country must have them.
    for currency in countries()[country]["remittance"]:
        limits = card_limits()[currency]
        assert Decimal(0) < limits.card_only_below < limits.card_max
        # Limits are amounts of money: no more decimals than the currency has.
        assert -limits.card_max.as_tuple().exponent <= minor_unit_digits(currency)
