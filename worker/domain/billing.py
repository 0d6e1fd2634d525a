"""Billing rules (DOMAIN.md section 2): billing periods, co-terming, proration, tax. Pure.

Which period is invoiced when, and the rounding across periods, are in `worker.domain.schedules`; the
README ("How amounts are computed") states the whole rule with the worked examples.

Proration rule: a service period is measured in calendar months; a whole calendar month counts 1,
a partial month counts (days in service) / (days in that month). A line is charged
`annual_amount * months / 12`, or for a non-standard term `total_contract_value * months /
term_months`. Only the rounded parts are added up: tax is computed per line on the rounded amount
and rounded half-up to the currency's minor unit; the total is the sum of the rounded parts.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from worker.domain.model import InvoiceLine, Order, OrderLine
from worker.domain.money import round_money

#: Months in one billing period of each frequency.
MONTHS_PER_PERIOD = {
    "annual_in_advance": 12,
    "quarterly_in_advance": 3,
    "quarterly_in_arrears": 3,
    "monthly_in_arrears": 1,
}
#: Frequencies invoiced at the start of a period (the others at its end, on usage or in arrears).
IN_ADVANCE = frozenset({"annual_in_advance", "quarterly_in_advance"})
#: Line kinds charged in full for the period even when activated late.
NOT_PRORATED_KINDS = frozenset({"pooled"})


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@lru_cache(maxsize=4096)  # pure, and asked for the same periods again and again
def service_months(start: date, end: date) -> Fraction:
    """Calendar months from `start` to `end` inclusive; a partial month counts by its days."""
    months = Fraction(0)
    cursor = start
    while cursor <= end:
        days_in_month = calendar.monthrange(cursor.year, cursor.month)[1]
        month_end = cursor.replace(day=days_in_month)
        segment_end = min(end, month_end)
        months += Fraction((segment_end - cursor).days + 1, days_in_month)
        cursor = month_end + timedelta(days=1)
    return months


def billing_periods(term_start: date, term_end: date, frequency: str) -> list[Period]:
    """The billing periods of a term, each `MONTHS_PER_PERIOD` long, the last cut at `term_end`."""
    step = MONTHS_PER_PERIOD[frequency]
    periods: list[Period] = []
    index = 0
    while True:
        start = add_months(term_start, step * index)
        if start > term_end:
            return periods
        end = min(term_end, add_months(term_start, step * (index + 1)) - timedelta(days=1))
        periods.append(Period(start, end))
        index += 1


def charge(line: OrderLine, months: Fraction) -> Decimal:
    """The unrounded charge for `months` of a line's service."""
    if line.annual_amount is not None:
        base, divisor = line.annual_amount, 12
    else:
        assert line.total_contract_value is not None and line.term_months
        base, divisor = line.total_contract_value, line.term_months
    # One division at the end keeps the result exact to Decimal's 28 digits.
    return base * Decimal(months.numerator) / Decimal(months.denominator * divisor)


def priced_line(order: Order, line: OrderLine, start: date, end: date, amount: Decimal) -> InvoiceLine:
    return InvoiceLine(
        line_id=line.line_id,
        order_id=order.order_id,
        product=line.product,
        kind=line.kind,
        period_start=start,
        period_end=end,
        amount=amount,
        tax_rate=line.tax_rate,
        tax=round_money(amount * line.tax_rate, order.currency),
    )


def due_date(issued_on: date, payment_term_days: int) -> date:
    """Net terms: the due date is the invoice date plus the payment term."""
    return issued_on + timedelta(days=payment_term_days)
