"""Invoicing, the load - plan - settle - finish loop: an order's invoice windows (`close_windows`)
and a subscription's later billing periods (`invoice_periods`) each load their state in one read,
ask the pure core (`worker.domain.windows`, `worker.domain.schedules`) what to invoice, settle each
invoice atomically (one Lua script numbers it and creates its delivery), and re-arm the due time
of what comes next."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from worker.domain.schedules import plan_period_invoices
from worker.domain.windows import plan_invoices
from worker.emails.kinds import INVOICE
from worker.services.apply_events import reject_booked_order
from worker.services.context import ServiceContext
from worker.services.ledger import first_reminder_at
from worker.services.settling import Settled, settle_invoice
from worker.store.due_members import period_member, window_member

log = logging.getLogger(__name__)


async def close_windows(app: ServiceContext, order_id: str, lease: float) -> list[Settled]:
    """Invoice every closed window of the order; re-arm the due time of the one still open."""
    store, now = app.store, app.clock()
    member = window_member(order_id)
    state = await store.orders.load_window(order_id)
    if state is None:  # activations wait for their order; order.booked marks it due again
        await store.due.finish_due(member, lease, None)
        return []
    order, account, settled = state.order, state.account, state.settled
    activations = {line_id: datetime.fromisoformat(entry["at"]) for line_id, entry in state.activations.items()}
    # The subscription's first order anchors the billing periods and is what a split differs from.
    original = min([order, *state.other_orders], key=lambda o: (o.term_start, o.order_id))
    plan = plan_invoices(
        order,
        account,
        activations,
        settled,
        now=now,
        window_days=app.policy.window_days,
        payment_term_days=app.policy.payment_term_days,
        original=original,
        account_grace=timedelta(seconds=app.policy.account_grace_s),
    )
    next_at = plan.next_close_at.timestamp() if plan.next_close_at else None
    if plan.account_wait_until is not None:
        log.info("order %s: window closed, waiting for account %s", order_id, order.account_id)
        await store.due.finish_due(member, lease, plan.account_wait_until.timestamp())
        return []
    if account is None and plan.drafts:
        log.warning("order %s: account %s unknown; invoicing the billing contact alone", order_id, order.account_id)
    done = []
    for draft in plan.drafts:
        settle = partial(
            store.deliveries.settle_window,
            order_id,
            draft.line_ids,
            kind=INVOICE,
            subscription_id=order.subscription_id,
        )
        invoiced = await settle_invoice(
            settle,
            draft.invoice,
            order.billing_contact,
            account,
            now=now,
            lease_s=app.policy.due_lease_s,
            first_reminder=first_reminder_at(draft.invoice, app.policy),
        )
        if invoiced:
            log.info("order %s: invoice %s for lines %s", order_id, invoiced.invoice_number, ",".join(draft.line_ids))
            done.append(invoiced)
    await store.due.finish_due(member, lease, next_at)
    return done


async def invoice_periods(app: ServiceContext, subscription_id: str, lease: float) -> list[Settled]:
    """Invoice every later billing period of the subscription that has fallen due."""
    store, now = app.store, app.clock()
    member = period_member(subscription_id)
    state = await store.orders.load_subscription(subscription_id)
    orders, account = state.orders, state.account
    if not orders:
        await store.due.finish_due(member, lease, None)
        return []
    if account is None:
        # The sector decides whether an order may be billed in arrears, and the account's
        # contacts are copied: wait for it (account.updated marks this member due again).
        log.info("subscription %s: waiting for account %s", subscription_id, orders[0].account_id)
        await store.due.finish_due(member, lease, None)
        return []
    orders = [order for order in orders if not await reject_booked_order(app, order, account)]
    activations = {
        order.order_id: {
            line_id: datetime.fromisoformat(entry["at"]) for line_id, entry in state.activations[order.order_id].items()
        }
        for order in orders
    }
    plan = plan_period_invoices(
        orders,
        activations,
        state.billed_periods,
        account,
        now=now,
        payment_term_days=app.policy.payment_term_days,
    )
    done = []
    for draft in plan.drafts:
        settle = partial(store.deliveries.settle_periods, subscription_id, draft.keys, kind=INVOICE)
        settled = await settle_invoice(
            settle,
            draft.invoice,
            draft.invoice.billing_contact,
            account,
            now=now,
            lease_s=app.policy.due_lease_s,
            first_reminder=first_reminder_at(draft.invoice, app.policy),
        )
        if settled:
            log.info(
                "subscription %s: invoice %s for periods %s",
                subscription_id,
                settled.invoice_number,
                ",".join(draft.keys),
            )
            done.append(settled)
    await store.due.finish_due(member, lease, plan.next_due_at.timestamp() if plan.next_due_at else None)
    return done
