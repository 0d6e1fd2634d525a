"""Billing schedules (DOMAIN.md section 2): which billing period of which line is invoiced when,
and for how much. Pure: values in, values out, `now` passed in.

- A subscription's billing periods are anchored at its start (the earliest `term.start` of its
  orders) and run to the co-term end, `MONTHS_PER_PERIOD` long, the last one cut at the end. An
  order added later uses the same periods, its first one cut at its own `term.start`: a service
  added later is invoiced for the rest of the current billing period.
- A line is charged for every period in which it is in service (from its activation on; nothing
  for time not active), prorated by `billing.service_months`; pooled capacity is charged in full
  for the period in which it is activated.
- Rounding: every period but the last is charged its own amount rounded half-up to the currency's
  minor unit; the LAST period absorbs the remainder, so the periods of a line always add up to
  its rounded contract value (no drift, whatever the number of periods).
- In advance (annual, quarterly): the period in which a line is activated is billed by the
  activation's window invoice; each later period falls due on its first day, on one consolidated
  invoice per subscription. In arrears (quarterly, public sector only): every period falls due the
  day after it ends (midnight UTC), the first one prorated from the activation. Monthly in arrears
  is usage-based: billed on usage by another system, never by a schedule here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from worker.domain.billing import (
    IN_ADVANCE,
    NOT_PRORATED_KINDS,
    Period,
    billing_periods,
    charge,
    due_date,
    priced_line,
    service_months,
)
from worker.domain.model import Account, Invoice, InvoiceLine, Order, OrderLine
from worker.domain.money import round_money

#: Frequencies billed per period by a schedule (monthly in arrears is billed on usage elsewhere).
SCHEDULED_FREQUENCIES = frozenset({"annual_in_advance", "quarterly_in_advance", "quarterly_in_arrears"})
#: Frequencies only an account of one of these sectors may book.
RESTRICTED_FREQUENCIES = {"quarterly_in_arrears": frozenset({"public"})}


@dataclass(frozen=True)
class LinePeriod:
    """One billing period of one line: what it charges and when it falls due."""

    #: The subscription's billing period (uncut): the key that says which period this is.
    period: Period
    #: The days charged within it (cut at the activation or at the order's term start).
    service_start: date
    service_end: date
    amount: Decimal
    due_on: date


@dataclass(frozen=True)
class PeriodDraft:
    """One consolidated invoice of later billing periods, without its number (the store numbers it)."""

    #: The (order, line, period) keys it settles: none of them is ever invoiced twice.
    keys: tuple[str, ...]
    invoice: Invoice


@dataclass(frozen=True)
class PeriodPlan:
    drafts: tuple[PeriodDraft, ...]
    #: When the next period not yet invoiced falls due, or None when none is left.
    next_due_at: datetime | None


def frequency_error(order: Order, account: Account) -> str | None:
    """Why the account may not book the order's billing frequency, or None when it may."""
    sectors = RESTRICTED_FREQUENCIES.get(order.billing_frequency)
    if sectors is None or account.sector in sectors:
        return None
    return (
        f"billing frequency {order.billing_frequency!r} is for the public sector only; "
        f"account {account.account_id!r} is {account.sector!r}"
    )


def subscription_start(orders: Iterable[Order]) -> date:
    """The anchor of a subscription's billing periods: the earliest term start of its orders."""
    return min(order.term_start for order in orders)


def line_schedule(order: Order, line: OrderLine, activated_on: date, *, anchor: date | None = None) -> list[LinePeriod]:
    """Every billing period in which `line` is in service, with its charge; the last absorbs rounding."""
    anchor = min(anchor or order.term_start, order.term_start)
    first_day = max(activated_on, order.term_start)
    entries: list[tuple[Period, date, Decimal]] = []
    for period in billing_periods(anchor, order.term_end, order.billing_frequency):
        if period.end < first_day:
            continue
        start = max(period.start, first_day)
        if line.kind in NOT_PRORATED_KINDS:
            start = max(period.start, order.term_start)
        entries.append((period, start, charge(line, service_months(start, period.end))))
    if not entries:
        return []  # activated after the term ended: no service to bill
    amounts = [round_money(exact, order.currency) for _, _, exact in entries[:-1]]
    contract_value = round_money(sum((exact for _, _, exact in entries), Decimal(0)), order.currency)
    amounts.append(contract_value - sum(amounts, Decimal(0)))
    in_advance = order.billing_frequency in IN_ADVANCE
    return [
        LinePeriod(period, start, period.end, amount, period.start if in_advance else period.end + timedelta(days=1))
        for (period, start, _), amount in zip(entries, amounts, strict=True)
    ]


def period_key(order_id: str, line_id: str, period: Period) -> str:
    return f"{order_id}:{line_id}:{period.start.isoformat()}"


def scheduled_periods(order: Order, line: OrderLine, activated_on: date, *, anchor: date) -> list[LinePeriod]:
    """The periods of a line invoiced by the schedule (not by its activation's window)."""
    if order.billing_frequency not in SCHEDULED_FREQUENCIES:
        return []
    schedule = line_schedule(order, line, activated_on, anchor=anchor)
    # In advance, the period of the activation is on the window invoice.
    return schedule[1:] if order.billing_frequency in IN_ADVANCE else schedule


def split_reason(order: Order, original: Order) -> str:
    """Why an order's lines go on an invoice of their own (DOMAIN.md section 1), "" if they do not."""
    reasons = []
    if order.payment_method != original.payment_method:
        reasons.append(
            f"payment method {order.payment_method} differs from {original.payment_method} on order {original.order_id}"
        )
    if order.po_number != original.po_number:
        reasons.append(
            f"PO number {order.po_number or 'none'} differs from {original.po_number or 'none'}"
            f" on order {original.order_id}"
        )
    return "; ".join(reasons)


def draft_invoice(
    order: Order,
    original: Order,
    account: Account | None,
    lines: Sequence[InvoiceLine],
    *,
    issued_on: date,
    payment_term_days: int,
) -> Invoice:
    """An invoice of `order`'s lines, without its number (the store numbers it); dated the day
    it is sent, due net `payment_term_days`, with the reason it is split from `original`, if any."""
    return Invoice(
        number="",
        order_id=order.order_id,
        account_id=order.account_id,
        subscription_id=order.subscription_id,
        currency=order.currency,
        issued_on=issued_on,
        due_on=due_date(issued_on, payment_term_days),
        po_number=order.po_number,
        lines=tuple(lines),
        billing_contact=order.billing_contact,
        account_name=account.name if account else "",
        country=account.country if account else None,
        payment_method=order.payment_method,
        split_reason=split_reason(order, original),
    )


def midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def plan_period_invoices(
    orders: Sequence[Order],
    activations: Mapping[str, Mapping[str, datetime]],
    billed: Iterable[str],
    account: Account | None,
    *,
    now: datetime,
    payment_term_days: int,
) -> PeriodPlan:
    """The later-period invoices of one subscription due now, and when the next one falls due.

    `orders` are the subscription's orders; the one that starts first (then the lowest order id)
    is the original. Lines of all orders due in the same period go on one invoice, except lines
    whose order has another payment method or PO number than the original: those are grouped
    by (payment method, PO number) on invoices of their own, with the reason in `split_reason`.
    """
    if not orders:
        return PeriodPlan((), None)
    ordered = sorted(orders, key=lambda o: (o.term_start, o.order_id))
    original, anchor = ordered[0], ordered[0].term_start
    done = set(billed)
    # (period start, split off?, payment method, PO number, currency) -> (key, order, line) items
    groups: dict[tuple[date, bool, str, str | None, str], list[tuple[str, Order, InvoiceLine]]] = {}
    next_due: date | None = None
    for order in ordered:
        for line in order.lines:
            activated_at = activations.get(order.order_id, {}).get(line.line_id)
            if activated_at is None:
                continue  # no invoice for a service not yet delivered
            for entry in scheduled_periods(order, line, activated_at.date(), anchor=anchor):
                key = period_key(order.order_id, line.line_id, entry.period)
                if key in done:
                    continue
                if midnight_utc(entry.due_on) > now:
                    next_due = entry.due_on if next_due is None else min(next_due, entry.due_on)
                    continue
                priced = priced_line(order, line, entry.service_start, entry.service_end, entry.amount)
                split = bool(split_reason(order, original))
                group = (entry.period.start, split, order.payment_method, order.po_number, order.currency)
                groups.setdefault(group, []).append((key, order, priced))
    issued_on = now.date()
    drafts = []
    # Orders in one group share payment method, PO number and currency: the first stands for all.
    for _, items in sorted(groups.items(), key=lambda g: g[0][:2]):
        first_order = items[0][1]
        invoice = draft_invoice(
            first_order,
            original,
            account,
            [priced for _, _, priced in items],
            issued_on=issued_on,
            payment_term_days=payment_term_days,
        )
        drafts.append(PeriodDraft(keys=tuple(key for key, _, _ in items), invoice=invoice))
    return PeriodPlan(tuple(drafts), midnight_utc(next_due) if next_due else None)


def activation_line(
    order: Order, line: OrderLine, activated_on: date, *, anchor: date | None = None
) -> InvoiceLine | None:
    """The invoice line due when `line` is activated, or None when nothing is due then.

    Billed in advance: the rest of the billing period the activation falls in, co-termed at
    `term.end` (pooled capacity in full). Billed in arrears or on usage: nothing at activation.
    """
    if order.billing_frequency not in IN_ADVANCE:
        return None
    schedule = line_schedule(order, line, activated_on, anchor=anchor)
    if not schedule:
        return None
    first = schedule[0]
    return priced_line(order, line, first.service_start, first.service_end, first.amount)
