"""The invoice window and the 15-day rule (DOMAIN.md section 1): from an order's activations to
draft invoices. Pure: `now` is passed in.

A window opens at the earliest activation not yet invoiced. It closes when every remaining line of
the order is active, or `window_days` after it opened, whichever comes first. The lines activated
by the close form one invoice; the next activation opens a new window. Timestamps come from the
events, so a window whose close lies in the past closes at once. `plan_invoices` prices the lines
of each closed window into a draft invoice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.domain.model import Account, Invoice, Order
from worker.domain.schedules import activation_line, draft_invoice

#: Default length of a window, in days.
DEFAULT_WINDOW_DAYS = 15


@dataclass(frozen=True)
class ClosedWindow:
    opened_at: datetime
    closed_at: datetime
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class WindowState:
    """What is invoiceable now, and when the window still open (if any) closes."""

    closed: tuple[ClosedWindow, ...]
    next_close_at: datetime | None


def evaluate_windows(
    line_ids: Iterable[str],
    activations: Mapping[str, datetime],
    invoiced: Iterable[str],
    *,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> WindowState:
    """Split the order's uninvoiced activations into closed windows, in order of opening."""
    remaining = [line for line in line_ids if line not in set(invoiced)]
    window = timedelta(days=window_days)
    closed: list[ClosedWindow] = []
    while True:
        active = [line for line in remaining if line in activations]
        if not active:
            return WindowState(tuple(closed), None)
        opened_at = min(activations[line] for line in active)
        close_at = opened_at + window
        if len(active) == len(remaining):
            close_at = min(close_at, max(activations[line] for line in active))
        if now < close_at:
            return WindowState(tuple(closed), close_at)
        in_window = tuple(line for line in active if activations[line] <= close_at)
        closed.append(ClosedWindow(opened_at, close_at, in_window))
        remaining = [line for line in remaining if line not in in_window]


@dataclass(frozen=True)
class DraftInvoice:
    """A closed window of one order: the lines it settles and the invoice it yields, if any."""

    window: ClosedWindow
    #: Every line the window settles, billed or not (a usage-billed line adds no invoice line).
    line_ids: tuple[str, ...]
    #: The invoice without its number (the store numbers it), or None when nothing is billable.
    invoice: Invoice | None


@dataclass(frozen=True)
class InvoicePlan:
    drafts: tuple[DraftInvoice, ...]
    next_close_at: datetime | None
    #: Set when closed windows wait for their account (whose contacts are copied) until then.
    account_wait_until: datetime | None = None


def plan_invoices(
    order: Order,
    account: Account | None,
    activations: Mapping[str, datetime],
    invoiced: Iterable[str],
    *,
    now: datetime,
    window_days: int,
    payment_term_days: int,
    original: Order | None = None,
    account_grace: timedelta = timedelta(0),
) -> InvoicePlan:
    """The invoices due now for an order, and when its open window (if any) closes.

    `original` is the first order of the subscription (default: this one): its term start
    anchors the billing periods, and an order with another payment method or PO number than it
    carries the reason in `Invoice.split_reason`. Closed windows of an order whose account is
    not known yet wait for it up to `account_grace` after the first of them closed; after that
    the invoice goes to the billing contact alone.
    """
    original = original or order
    known = {line.line_id for line in order.lines}
    state = evaluate_windows(
        [line.line_id for line in order.lines],
        {line_id: at for line_id, at in activations.items() if line_id in known},
        invoiced,
        now=now,
        window_days=window_days,
    )
    issued_on = now.date()
    drafts = []
    for window in state.closed:
        lines = []
        for line_id in window.line_ids:
            line = order.line(line_id)
            assert line is not None
            priced = activation_line(order, line, activations[line_id].date(), anchor=original.term_start)
            if priced is not None:
                lines.append(priced)
        invoice = None
        if lines:
            invoice = draft_invoice(
                order, original, account, lines, issued_on=issued_on, payment_term_days=payment_term_days
            )
        drafts.append(DraftInvoice(window, window.line_ids, invoice))
    if account is None and drafts:
        wait_until = drafts[0].window.closed_at + account_grace
        if now < wait_until:
            return InvoicePlan((), state.next_close_at, account_wait_until=wait_until)
    return InvoicePlan(tuple(drafts), state.next_close_at)
