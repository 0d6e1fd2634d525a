"""The 15-day invoice window, as a pure function of activations and `now`."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.domain.windows import ClosedWindow, evaluate_windows


def at(day: int, month: int = 1, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


LINES = ["L1", "L2", "L3"]


def test_no_activation_means_no_window():
    state = evaluate_windows(LINES, {}, [], now=at(20))
    assert state.closed == () and state.next_close_at is None


def test_a_window_opened_by_one_of_three_lines_closes_fifteen_days_later():
    state = evaluate_windows(LINES, {"L1": at(1)}, [], now=at(5))
    assert state.closed == () and state.next_close_at == at(16)


def test_the_window_closes_at_once_when_every_line_is_active():
    state = evaluate_windows(LINES, {"L1": at(1), "L2": at(2), "L3": at(3)}, [], now=at(3))
    assert state.closed == (ClosedWindow(at(1), at(3), ("L1", "L2", "L3")),)
    assert state.next_close_at is None


def test_after_fifteen_days_the_active_lines_are_invoiced_and_a_later_activation_opens_a_new_window():
    acts = {"L1": at(1), "L2": at(10), "L3": at(1, month=2)}
    state = evaluate_windows(LINES, acts, [], now=at(2, month=2))
    assert state.closed == (
        ClosedWindow(at(1), at(16), ("L1", "L2")),
        ClosedWindow(at(1, month=2), at(1, month=2), ("L3",)),
    )


def test_an_activation_twenty_days_old_is_invoiced_at_once():
    state = evaluate_windows(LINES, {"L1": at(1)}, [], now=at(21))
    assert [w.line_ids for w in state.closed] == [("L1",)]


def test_invoiced_lines_are_left_out_and_the_next_window_opens_at_the_first_uninvoiced_activation():
    state = evaluate_windows(LINES, {"L1": at(1), "L2": at(20)}, ["L1"], now=at(25))
    assert state.closed == () and state.next_close_at == at(4, month=2)


def test_the_window_length_is_configurable():
    state = evaluate_windows(LINES, {"L1": at(1)}, [], now=at(5), window_days=3)
    assert [w.line_ids for w in state.closed] == [("L1",)]


def test_the_result_does_not_depend_on_the_order_events_arrived_in():
    acts = {"L3": at(1, month=2), "L1": at(1), "L2": at(10)}
    reordered = dict(reversed(list(acts.items())))
    now = at(2, month=2)
    assert evaluate_windows(LINES, acts, [], now=now) == evaluate_windows(LINES, reordered, [], now=now)
