"""When an invoice's payment reminders go (pure: `today` and the business-day rule are passed in).

A cadence is a list of days relative to the due date (`REMINDER_DAYS`, default `-7,1,7,21`:
a week before, the day after, one and three weeks after). Each step falls on a business day of
the account's country: a step on a weekend or public holiday moves to the next business day.
A step is sent at most once (its delivery id names the invoice and the step); when a worker was
away past several steps, only the latest one that is due goes (a customer never gets three
reminders at once), the earlier ones are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

#: The default cadence: days relative to the due date.
DEFAULT_CADENCE = (-7, 1, 7, 21)
#: The hour (UTC) a reminder of a day is due: the working morning in Europe, the afternoon in Asia.
REMINDER_HOUR_UTC = 8
#: A business day is looked for this far ahead at most (no country has a longer holiday).
_MAX_SHIFT_DAYS = 14

BusinessDay = Callable[[date], bool]


def parse_cadence(text: str) -> tuple[int, ...]:
    """`"-7,1,7,21"` -> (-7, 1, 7, 21), sorted and without repeats.

    Raises:
      ValueError: an entry that is no whole number of days, or more than 365 days away.
    """
    steps: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            days = int(part)
        except ValueError:
            raise ValueError(f"REMINDER_DAYS: {part!r} is not a whole number of days") from None
        if abs(days) > 365:
            raise ValueError(f"REMINDER_DAYS: {days} is more than a year from the due date")
        steps.add(days)
    return tuple(sorted(steps))


def weekdays_only(day: date) -> bool:
    """The business-day rule without a holiday calendar: Monday to Friday."""
    return day.weekday() < 5


def business_day_on_or_after(day: date, is_business_day: BusinessDay) -> date:
    for shift in range(_MAX_SHIFT_DAYS + 1):
        candidate = day + timedelta(days=shift)
        if is_business_day(candidate):
            return candidate
    return day


@dataclass(frozen=True)
class Step:
    #: Days relative to the due date (negative: before it).
    offset: int
    on: date

    @property
    def overdue(self) -> bool:
        """A reminder after the due date (the invoice is overdue from the day after it)."""
        return self.offset > 0

    @property
    def due_at(self) -> datetime:
        return datetime.combine(self.on, time(REMINDER_HOUR_UTC), tzinfo=UTC)


def schedule(due_on: date, cadence: Iterable[int], is_business_day: BusinessDay) -> tuple[Step, ...]:
    """Every step of the cadence for an invoice due on `due_on`, each on a business day."""
    return tuple(
        Step(offset, business_day_on_or_after(due_on + timedelta(days=offset), is_business_day))
        for offset in sorted(set(cadence))
    )


@dataclass(frozen=True)
class Plan:
    #: The step to send now, if any.
    send: Step | None
    #: Earlier steps that are due but will not be sent (a later one supersedes them).
    skipped: tuple[Step, ...]
    #: When the next step falls due, or None when none is left.
    next_at: datetime | None


def plan_reminders(steps: tuple[Step, ...], done: Iterable[int], now: datetime) -> Plan:
    """What to do at `now`, given the steps already sent or skipped (`done`, by offset)."""
    finished = set(done)
    due = [step for step in steps if step.offset not in finished and step.due_at <= now]
    later = [step for step in steps if step.offset not in finished and step.due_at > now]
    return Plan(
        send=due[-1] if due else None,
        skipped=tuple(due[:-1]),
        next_at=later[0].due_at if later else None,
    )
