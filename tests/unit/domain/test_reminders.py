"""When reminders go: the cadence, business days, and one step at a time (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from worker.domain.reminders import DEFAULT_CADENCE, parse_cadence, plan_reminders, schedule, weekdays_only

DUE = date(2026, 2, 15)  # a Sunday


def test_the_default_cadence_is_a_week_before_and_one_three_weeks_after() -> None:
    assert parse_cadence("-7,1,7,21") == DEFAULT_CADENCE
    assert parse_cadence(" 7, -7 ,7,") == (-7, 7)
    assert parse_cadence("") == ()


@pytest.mark.parametrize("text", ["-7,one", "1.5", "400"])
def test_a_cadence_that_is_not_whole_days_within_a_year_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match="REMINDER_DAYS"):
        parse_cadence(text)


def test_a_step_on_a_weekend_or_holiday_moves_to_the_next_business_day() -> None:
    steps = schedule(DUE, DEFAULT_CADENCE, weekdays_only)
    assert [(s.offset, s.on) for s in steps] == [
        (-7, date(2026, 2, 9)), (1, date(2026, 2, 16)), (7, date(2026, 2, 23)), (21, date(2026, 3, 9)),
    ]  # fmt: skip


def test_the_latest_due_step_is_sent_the_earlier_ones_skipped_and_the_next_armed() -> None:
    steps = schedule(DUE, DEFAULT_CADENCE, weekdays_only)
    plan = plan_reminders(steps, done=[-7], now=datetime(2026, 3, 1, tzinfo=UTC))
    assert plan.send is not None and plan.send.offset == 7 and plan.send.overdue
    assert [s.offset for s in plan.skipped] == [1]
    assert plan.next_at == datetime(2026, 3, 9, 8, tzinfo=UTC)


def test_nothing_is_sent_before_the_first_step_nor_again_after_the_last() -> None:
    steps = schedule(DUE, DEFAULT_CADENCE, weekdays_only)
    early = plan_reminders(steps, done=[], now=datetime(2026, 2, 9, 7, 59, tzinfo=UTC))
    assert early.send is None and early.next_at == datetime(2026, 2, 9, 8, tzinfo=UTC)
    finished = plan_reminders(steps, done=[-7, 1, 7, 21], now=datetime(2026, 6, 1, tzinfo=UTC))
    assert (finished.send, finished.skipped, finished.next_at) == (None, (), None)
    assert not steps[0].overdue
