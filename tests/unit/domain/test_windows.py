"""The 15-day invoice window, as a pure function of activations and `now`, and the draft invoices
its closed windows yield (the account a closed window waits for)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.domain.model import Account, Contact, Order, OrderLine
from worker.domain.windows import ClosedWindow, evaluate_windows, plan_invoices


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


# From activations to draft invoices.

ORDER = Order(
    order_id="O-1",
    account_id="A-1",
    subscription_id="S-1",
    billing_contact=Contact("Els de Vries", "els@acme.example", "nl-NL"),
    po_number=None,
    payment_method="invoice",
    currency="USD",
    billing_frequency="annual_in_advance",
    term_start=date(2026, 1, 1),
    term_end=date(2026, 12, 31),
    lines=(OrderLine("L1", "Compute", "paas", Decimal("0.21"), annual_amount=Decimal("24000.00")),),
)
ACTIVATED = {"L1": datetime(2026, 1, 1, 9, tzinfo=UTC)}
GRACE = timedelta(hours=1)


def plan(account, now):
    return plan_invoices(
        ORDER, account, ACTIVATED, [], now=now, window_days=15, payment_term_days=30, account_grace=GRACE
    )


def test_a_closed_window_waits_for_its_unknown_account_within_the_grace():
    result = plan(None, datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
    assert result.drafts == ()
    assert result.account_wait_until == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_after_the_grace_the_invoice_goes_out_without_the_account():
    result = plan(None, datetime(2026, 1, 1, 10, 1, tzinfo=UTC))
    (draft,) = result.drafts
    assert draft.invoice.total == Decimal("29040.00") and draft.invoice.account_name == ""
    assert result.account_wait_until is None


def test_a_known_account_never_waits():
    account = Account("A-1", "Acme B.V.", "NL", "commercial")
    result = plan(account, datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
    (draft,) = result.drafts
    assert draft.invoice.account_name == "Acme B.V." and draft.invoice.due_on == date(2026, 1, 31)
