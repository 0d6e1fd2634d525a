"""Billing rules of worker/billing.py: periods, proration by calendar months, charges, net terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

from tests.support.billing_examples import order, order_line
from worker.domain.billing import Period, add_months, billing_periods, charge, due_date, priced_line, service_months


def test_whole_calendar_months_count_one_each_and_a_partial_month_by_its_days() -> None:
    assert service_months(date(2026, 1, 1), date(2026, 12, 31)) == 12
    assert service_months(date(2026, 2, 1), date(2026, 12, 31)) == 11
    assert service_months(date(2026, 2, 15), date(2026, 2, 28)) == Fraction(14, 28)
    assert service_months(date(2028, 2, 15), date(2028, 2, 29)) == Fraction(15, 29)  # leap year


def test_a_three_year_term_has_three_annual_periods_and_a_55_month_term_ends_short() -> None:
    assert billing_periods(date(2026, 1, 1), date(2028, 12, 31), "annual_in_advance") == [
        Period(date(2026, 1, 1), date(2026, 12, 31)),
        Period(date(2027, 1, 1), date(2027, 12, 31)),
        Period(date(2028, 1, 1), date(2028, 12, 31)),
    ]
    periods = billing_periods(date(2026, 1, 1), date(2030, 7, 31), "annual_in_advance")
    assert len(periods) == 5 and periods[-1] == Period(date(2030, 1, 1), date(2030, 7, 31))


def test_month_arithmetic_clamps_to_the_end_of_a_shorter_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_a_non_standard_term_charges_contract_value_over_term_months() -> None:
    line = order_line(total_contract_value=Decimal("3250"), term_months=55)
    assert round(charge(line, Fraction(12)), 2) == Decimal("709.09")


def test_tax_is_rounded_half_up_per_line_on_the_rounded_amount() -> None:
    priced = priced_line(
        order(), order_line(tax_rate=Decimal("0.21")), date(2026, 1, 1), date(2026, 12, 31), Decimal("0.50")
    )
    assert priced.tax == Decimal("0.11")  # 0.105 -> 0.11


def test_net_30_due_date() -> None:
    assert due_date(date(2026, 1, 16), 30) == date(2026, 2, 15)
