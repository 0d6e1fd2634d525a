"""Every amount is rounded to its currency's ISO 4217 minor unit, whatever Babel's CLDR data says."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from worker.data.countries import CARD_LIMITS_FILE, COUNTRIES_FILE
from worker.domain.money import MINOR_UNITS, UnknownCurrency, minor_unit_digits, round_money

#: ISO 4217 list one, column "Minor unit", for every currency the data files use: written out
#: here, so that a change of the table (or of a library) shows up as a failing test.
ISO_4217 = {
    "AED": 2, "ARS": 2, "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2, "COP": 2,
    "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "ILS": 2, "INR": 2, "JPY": 0,
    "KRW": 0, "MAD": 2, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "PLN": 2, "QAR": 2, "SAR": 2,
    "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2, "TWD": 2, "USD": 2, "ZAR": 2,
    "HUF": 2, "RON": 2, "IDR": 2, "PHP": 2, "PKR": 2, "KES": 2, "NGN": 2, "PEN": 2, "UYU": 2,
    "CRC": 2, "UAH": 2, "KZT": 2, "RSD": 2, "VND": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3,
}  # fmt: skip


def data_file_currencies() -> set[str]:
    countries = json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))
    found = set(json.loads(CARD_LIMITS_FILE.read_text(encoding="utf-8")))
    for facts in countries.values():
        found |= {facts["currency"], *facts.get("remittance", {})}
    return found


def test_the_expected_table_covers_every_currency_of_the_data_files() -> None:
    assert data_file_currencies() <= set(ISO_4217)


@pytest.mark.parametrize("currency", sorted(ISO_4217))
def test_an_amount_is_rounded_half_up_to_the_iso_minor_unit(currency: str) -> None:
    # Given an amount half a minor unit above a round figure
    digits = ISO_4217[currency]
    half = Decimal(5).scaleb(-digits - 1)
    # When it is rounded, then it goes up to the currency's ISO 4217 minor unit
    assert minor_unit_digits(currency) == digits
    assert round_money(Decimal(100) + half, currency) == Decimal(100) + Decimal(1).scaleb(-digits)
    assert round_money(Decimal(100) + half, currency).as_tuple().exponent == -digits


def test_currencies_whose_cldr_digits_differ_keep_their_iso_minor_unit() -> None:
    # CLDR (Babel 2.19) shows COP, HUF, IDR without decimals and IQD with none; invoices keep ISO's.
    assert round_money(Decimal("2124000.505"), "COP") == Decimal("2124000.51")
    assert round_money(Decimal("1234.565"), "HUF") == Decimal("1234.57")
    assert round_money(Decimal("12.3455"), "IQD") == Decimal("12.346")
    assert round_money(Decimal("250001.5"), "JPY") == Decimal("250002")
    assert round_money(Decimal("1.00005"), "CLF") == Decimal("1.0001")


def test_a_code_that_is_no_current_currency_cannot_be_rounded() -> None:
    for code in ("XXX", "ZZZ", "usd", "DEM"):
        with pytest.raises(UnknownCurrency, match=code):
            round_money(Decimal(1), code)
    assert "XXX" not in MINOR_UNITS
