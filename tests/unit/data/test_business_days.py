"""Each booking country's business days, from the holidays package."""

from __future__ import annotations

from datetime import date

import pytest

from worker.data.business_days import business_days
from worker.data.countries import countries
from worker.domain.reminders import schedule


def test_a_dutch_reminder_on_christmas_moves_past_the_holidays_and_the_weekend() -> None:
    # The 25th and 26th are holidays, then a weekend: Monday 28 December
    (step,) = schedule(date(2026, 12, 24), (1,), business_days("NL"))
    assert step.on == date(2026, 12, 28)


def test_a_saudi_reminder_on_a_friday_moves_to_sunday() -> None:
    # Saudi Arabia's weekend is Friday and Saturday
    (step,) = schedule(date(2026, 12, 3), (1,), business_days("SA"))
    assert step.on == date(2026, 12, 6)


# Ukraine's public holidays are suspended under martial law (since 2022): the package knows.
@pytest.mark.parametrize("country", sorted(set(countries()) - {"UA"}))
def test_every_booking_country_has_a_holiday_calendar(country: str) -> None:
    rule = business_days(country)
    # 1 January is a public holiday nearly everywhere; each country has some weekday holiday
    year = [date.fromordinal(date(2026, 1, 1).toordinal() + i) for i in range(365)]
    assert any(day.weekday() < 5 and not rule(day) for day in year), country


def test_an_unknown_country_gets_monday_to_friday() -> None:
    assert business_days(None)(date(2026, 12, 25)) and not business_days(None)(date(2026, 12, 26))
