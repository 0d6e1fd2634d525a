"""The contract's value types: what each accepts, and that the schema's rule is the worker's."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.support.billing_examples import order, order_line
from tests.support.paths import ROOT
from worker.contract import limits
from worker.contract.values import COUNTRY, Amount, Day, Text, Timestamp, character_problem
from worker.data.countries import countries
from worker.data.iso3166 import ASSIGNED_COUNTRY_CODES
from worker.domain.billing import priced_line
from worker.domain.money import MINOR_UNITS, round_money
from worker.domain.schedules import line_schedule

NAME = Text(limits.MAX_NAME_LENGTH)
NAME_SCHEMA = Draft202012Validator(NAME.json_schema())


def _worker_accepts(value_type, value) -> bool:
    try:
        value_type.validate(value)
    except ValueError:
        return False
    return True


# Characters near every rule: refused ones, blanks str.strip() takes off, a right-to-left mark
# (allowed), letters of several scripts.
_EDGE_CHARACTERS = (
    "\x00\t\n\r\x1f\x7f\x80\x85\x9f\xa0 \u1680\u2000\u200a\u200b\u200e\u200f\u2028\u2029"
    "\u202a\u202e\u202f\u205f\u2066\u2069\u3000\ufeffaZ\u00e9\u0634\u4e2d"
)


@given(st.text(alphabet=st.sampled_from(_EDGE_CHARACTERS) | st.characters(), max_size=12))
def test_a_text_passes_the_schema_exactly_when_it_passes_the_worker(text):
    # Given any short text, When the schema and the worker judge it as a name, Then they agree
    assert NAME_SCHEMA.is_valid(text) == _worker_accepts(NAME, text)


def test_blank_in_the_schema_is_what_the_worker_strips():
    # Given every character Python's str.strip() removes, less those refused anyway
    stripped = {chr(c) for c in range(0x110000) if chr(c).isspace() and character_problem(chr(c)) is None}
    # Then a name of only those is blank for both, and one of any other character is not
    for char in stripped:
        assert not NAME_SCHEMA.is_valid(char * 3) and not _worker_accepts(NAME, char * 3)
    assert NAME_SCHEMA.is_valid("\u200b") and _worker_accepts(NAME, "\u200b")


def test_a_name_keeps_its_text_without_the_spaces_around_it():
    assert NAME.validate("  Acme B.V. ") == "Acme B.V."


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x9b", "\u202e", "\u2067", "\u2028"])
def test_a_refused_character_is_named_by_code_point_and_position(char):
    with pytest.raises(ValueError, match=rf"U\+{ord(char):04X} at character 3"):
        NAME.validate("Ac" + char + "me")


def test_every_day_of_the_allowed_years_is_a_date_and_no_other_is():
    # Given the days of years at the edges of the rules (and February 29 of every year)
    day_type = Day()
    for year in (1900, 1904, 2000, 2024, 2025, 2100, 2400, 2999):
        day = date(year, 1, 1)
        while day.year == year:
            assert day_type.validate(day.isoformat()) == day
            day += timedelta(days=1)
    for year in range(limits.MIN_YEAR, limits.MAX_YEAR + 1):
        assert _worker_accepts(day_type, f"{year}-02-29") == calendar.isleap(year), year
    # Then a day that does not exist, or a year out of range, is refused
    for text in ("2026-04-31", "2026-13-01", "2026-00-10", "1899-12-31", "3000-01-01", "2026-1-01", "20260101"):
        assert not _worker_accepts(day_type, text), text


def test_a_timestamp_keeps_its_zone():
    moment = Timestamp().validate("2026-01-01T10:00:00+01:00")
    assert moment.utcoffset() == timedelta(hours=1) and moment.hour == 10


def test_every_country_of_the_payment_data_is_an_assigned_code():
    assert set(countries()) <= ASSIGNED_COUNTRY_CODES
    assert len(ASSIGNED_COUNTRY_CODES) == 249
    assert all(_worker_accepts(COUNTRY, code) for code in ("NL", "US", "CN", "SS", "CW", "AX"))
    assert not any(_worker_accepts(COUNTRY, code) for code in ("XK", "UK", "EU", "AN", "ZZ", "QO", "NLD", "nl"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1e30", "exponents are not allowed"),
        ("1E+3", "exponents are not allowed"),
        ("-1.00", "must not be negative"),
        ("0100.00", "leading zeros"),
        ("1" * 16, "more than 15 digits"),
        ("1.00001", "more than 4 decimal places"),
        ("NaN", "not a decimal string"),
        (" 1.00", "not a decimal string"),
        ("1,000.00", "not a decimal string"),
    ],
)
def test_an_amount_that_is_not_a_plain_bounded_decimal_says_why(text, reason):
    with pytest.raises(ValueError, match=reason):
        Amount().validate(text)


def test_the_largest_amounts_accepted_are_billed_without_error_in_every_currency():
    # Given the largest amount each currency accepts, at the largest tax rate, on a leap-year term
    for currency, digits in MINOR_UNITS.items():
        largest = Decimal("9" * limits.AMOUNT_MAX_INTEGER_DIGITS + ("." + "9" * digits if digits else ""))
        assert Amount().validate(str(largest)) == largest
        line = order_line(annual_amount=largest, tax_rate=Decimal(1))
        booked = order(line, currency=currency, billing_frequency="monthly_in_arrears", term_end=date(2028, 12, 31))
        # When it is billed (prorated from a mid-month activation, rounded, taxed)
        periods = line_schedule(booked, line, date(2026, 1, 17))
        first = periods[0]
        priced = priced_line(booked, line, first.service_start, first.service_end, first.amount)
        # Then every figure is exact money in that currency (no decimal.InvalidOperation):
        # 36 months less the 16 days of January before the activation
        assert sum(p.amount for p in periods) == round_money(largest * (36 * 31 - 16) / (31 * 12), currency)
        assert priced.tax == priced.amount


def test_the_readme_lists_the_limits_the_worker_enforces():
    # Given README's "Limits" section
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Limits", 1)[1].split("\n#", 1)[0]
    # Then each limit of worker/contract/limits.py is stated there as enforced
    for value in (
        limits.MAX_EVENT_ID_LENGTH,
        limits.MAX_ID_LENGTH,
        limits.MAX_NAME_LENGTH,
        limits.MAX_PRODUCT_LENGTH,
        limits.MAX_PO_NUMBER_LENGTH,
        limits.MAX_REDEMPTION_CODE_LENGTH,
        limits.MAX_LOCALE_LENGTH,
        limits.MAX_EMAIL_LENGTH,
        limits.MAX_EMAIL_LOCAL_PART_OCTETS,
        limits.MAX_ORDER_LINES,
        limits.MAX_USAGE_ENTRIES,
        limits.AMOUNT_MAX_INTEGER_DIGITS,
        limits.AMOUNT_MAX_DECIMALS,
        limits.TAX_RATE_MAX_DECIMALS,
    ):
        assert f" {value}" in section, value
    assert f"{limits.MAX_REASON_LENGTH:,}" in section and f"{limits.MAX_TERM_MONTHS:,}" in section
    assert f"{limits.MIN_YEAR}-{limits.MAX_YEAR}" in section
