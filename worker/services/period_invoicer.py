"""Invoice the later billing periods of a subscription: load its orders, ask the pure core
(`worker.domain.schedules`), settle each invoice atomically, re-arm the due time of the next period."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from worker.domain.schedules import plan_period_invoices
from worker.emails.kinds import INVOICE
from worker.services.apply_events import reject_booked_order
from worker.services.context import App
from worker.services.invoicer import Settled, settle_invoice
from worker.store.due_members import period_member

log = logging.getLogger(__name__)


async def invoice_periods(app: App, subscription_id: str, lease: float) -> list[Settled]:
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
        payment_term_days=app.settings.payment_term_days,
    )
    done = []
    for draft in plan.drafts:
        settle = partial(store.deliveries.settle_periods, subscription_id, draft.keys, kind=INVOICE)
        settled = await settle_invoice(
            settle, draft.invoice, draft.invoice.billing_contact, account, now=now, lease_s=app.settings.due_lease_s
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
