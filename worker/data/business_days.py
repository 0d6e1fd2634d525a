"""Each country's business days: its weekend and public holidays, from the `holidays` package
(which knows every booking country of `countries.json`; a country it does not know gets Monday to
Friday). The rule is handed to the pure core (`worker.domain.reminders`) as a function."""

from __future__ import annotations

from datetime import date
from functools import cache

import holidays

from worker.domain.reminders import BusinessDay, weekdays_only


@cache
def business_days(country: str | None) -> BusinessDay:
    """Whether a day is a business day in `country` (its own weekend: Friday and Saturday in
    Saudi Arabia, Saturday and Sunday in the Netherlands)."""
    if not country or country not in holidays.list_supported_countries():
        return weekdays_only
    calendar = holidays.country_holidays(country)

    def is_business_day(day: date) -> bool:
        return day.weekday() not in calendar.weekend and day not in calendar

    return is_business_day
