"""Amounts formatted with Babel's data looked up once read exactly as babel.numbers.format_currency writes them,
with the currency's ISO 4217 decimals (worker.domain.money) where CLDR's display digits differ."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import NumberPattern, format_currency, get_currency_precision, get_group_symbol, parse_pattern

from worker.data.countries import CARD_LIMITS_FILE, COUNTRIES_FILE
from worker.domain.locales import SUPPORTED_LOCALES, babel_locale
from worker.domain.money import minor_unit_digits
from worker.emails.currency_format import CurrencyFormat, currency_format, format_number

#: Every currency an invoice can be in, and a few with unusual digits (none, three, four), and
#: some whose CLDR display digits differ from ISO 4217's minor unit (COP, HUF, IDR, IQD).
CURRENCIES = sorted(
    {
        facts["currency"]
        for facts in json.loads(COUNTRIES_FILE.read_text(encoding="utf-8")).values()
        if "currency" in facts
    }
    | set(json.loads(CARD_LIMITS_FILE.read_text(encoding="utf-8")))
    | {"USD", "EUR", "JPY", "KRW", "BHD", "KWD", "CLF", "COP", "HUF", "IDR", "IQD"}
)
#: Locales beyond the supported ones whose patterns differ (Indian grouping, currency after the
#: number, apostrophe groups, other numbering systems), so that a new supported locale is covered.
OTHER_LOCALES = ("en-IN", "de-CH", "fr-CH", "he-IL", "fa", "ar-EG", "sv-SE", "pl-PL", "hi-IN", "sw")


def amounts() -> list[Decimal | int | float | str]:
    rng = random.Random(20261122)
    edge_cases: list[Decimal | int | float | str] = [
        Decimal("0"),
        Decimal("-0"),
        Decimal("0.005"),
        Decimal("0.015"),
        Decimal("-0.015"),
        Decimal("1E+3"),
        Decimal("999.995"),
        Decimal("1000000"),
        Decimal("123456789012.345"),
        Decimal("-26620.00"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        5,
        0.1,
        "12.5",
    ]
    invoice_like = [Decimal(rng.randint(1, 400) * 250) * Decimal("1.21") for _ in range(50)]
    anything = [Decimal(rng.randint(-(10**12), 10**12)).scaleb(-rng.randint(0, 6)) for _ in range(150)]
    return edge_cases + invoice_like + anything


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES + OTHER_LOCALES)
def test_every_amount_in_every_currency_reads_as_babel_writes_it(locale: str) -> None:
    # Given the locale's CLDR data
    cldr = babel_locale(locale)

    every_amount = amounts()
    for currency in CURRENCIES:
        formatted = currency_format(cldr, currency)
        reference = iso_digits_pattern(cldr, currency)
        same_digits_as_cldr = minor_unit_digits(currency) == get_currency_precision(currency)
        quote_group = "'" in get_group_symbol(cldr, numbering_system="latn")
        for amount in every_amount:
            # When an amount is formatted, then it is exactly what Babel's format_currency writes,
            # or where CLDR's digits differ from ISO 4217's, what Babel writes with the locale's
            # pattern told to show the ISO decimals
            if same_digits_as_cldr:
                expected = format_currency(amount, currency, locale=cldr)
            else:
                expected = reference.apply(Decimal(str(amount)), cldr, currency=currency, currency_digits=False)
            if quote_group:
                # Babel drops a quote group separator (below); with it taken out, the rest agrees.
                assert formatted(amount).replace("'", "") == expected.replace("'", ""), (locale, currency, amount)
            else:
                assert formatted(amount) == expected, (locale, currency, amount)


@pytest.mark.parametrize(
    ("locale", "amount", "shown"),
    [
        ("de-CH", "19458", "CHF\xa019'458.00"),
        ("de-CH", "2124000", "CHF\xa02'124'000.00"),
        ("it-CH", "-2124000.5", "CHF-2'124'000.50"),
        ("fr-CH", "1234.5", "1'234,50\xa0CHF"),
    ],
)
def test_swiss_amounts_keep_their_apostrophe_group_separator(locale: str, amount: str, shown: str) -> None:
    # Given Babel 2.19, which loses CLDR's apostrophe group separator ("CHF 2124000.00")
    assert "'" not in format_currency(Decimal("2124000"), "CHF", locale=babel_locale(locale))
    # When a Swiss amount is formatted here, then the apostrophes are where CLDR puts them
    assert currency_format(babel_locale(locale), "CHF")(Decimal(amount)) == shown


def test_a_swiss_number_keeps_its_apostrophe_group_separator() -> None:
    assert format_number(Decimal("2124000.5"), babel_locale("de-CH")) == "2'124'000.5"
    assert format_number(Decimal("-1234"), babel_locale("de-CH")) == "-1'234"
    assert format_number(Decimal("2124000"), babel_locale("en-IN")) == "21,24,000"


def iso_digits_pattern(cldr: Locale, currency: str) -> NumberPattern:
    """The locale's standard currency pattern as Babel parses it, with ISO 4217's decimals."""
    digits = minor_unit_digits(currency)
    zeros = "." + "0" * digits if digits else ""
    return parse_pattern(cldr.currency_formats["standard"].pattern.replace(".00", zeros))


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "shown"),
    [
        ("es-CO", "COP", "2124000.5", "$2.124.000,50"),
        ("hu-HU", "HUF", "1234.56", "1\xa0234,56\xa0Ft"),
        ("ja-JP", "JPY", "250001", "￥250,001"),
        ("ar-IQ", "IQD", "12.345", "\u200f12.345\xa0د.ع.\u200f"),
    ],
)
def test_an_amount_shows_the_decimals_it_was_rounded_to(locale: str, currency: str, amount: str, shown: str) -> None:
    # Given a currency whose CLDR display digits differ from its ISO 4217 minor unit (COP, HUF: 0 vs 2)
    # When an amount rounded to its minor unit is formatted
    formatted = currency_format(babel_locale(locale), currency)(Decimal(amount))
    # Then its cents (or none, for JPY) are shown, as the invoice rounded them
    assert formatted == shown


def test_a_pattern_naming_the_currency_in_words_is_left_to_babel(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a currency pattern that names the currency in words (its plural form depends on the amount)
    in_words = parse_pattern("#,##0.00\u00a0¤¤¤")
    monkeypatch.setattr(Locale, "currency_formats", property(lambda locale: {"standard": in_words}))
    cldr = Locale.parse("en_US")

    # When amounts are formatted, then they read as Babel writes them, singular and plural
    formatted = CurrencyFormat(cldr, "USD")
    assert formatted(Decimal(1)) == format_currency(Decimal(1), "USD", locale=cldr) == "1.00\u00a0US dollar"
    assert formatted(Decimal(2)) == format_currency(Decimal(2), "USD", locale=cldr) == "2.00\u00a0US dollars"
