"""Close an order's invoice windows: load its state, ask the pure core, settle atomically."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from worker.domain.model import Account, Contact, Invoice
from worker.domain.windows import plan_invoices
from worker.emails.kinds import INVOICE, kind
from worker.services.context import App
from worker.services.deliveries import addressing
from worker.store.deliveries import Settlement
from worker.store.due_members import window_member

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    invoice_number: str
    delivery_id: str
    #: The delivery's due member is claimed by the settler until then (it sends it next).
    lease: float


async def settle_invoice(
    settle: Callable[[Invoice | None, Settlement], Awaitable[str | None]],
    invoice: Invoice | None,
    billing_contact: Contact,
    account: Account | None,
    *,
    now: datetime,
    lease_s: float,
) -> Settled | None:
    """Settle a draft through `settle` (a store method bound to what it settles) with its
    recipients and locale; returns the new invoice, or None (nothing billable, or settled first
    by another worker)."""
    # Addressed as `create_delivery` addresses any delivery; the settle script stores it.
    address = addressing(INVOICE, billing_contact, account)
    lease = now.timestamp() + lease_s
    settlement = Settlement(address.payload, address.locale, address.states, now, lease)
    number = await settle(invoice, settlement)
    return Settled(number, kind(INVOICE).delivery_id(number), lease) if number else None


async def close_windows(app: App, order_id: str, lease: float) -> list[Settled]:
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
        window_days=app.settings.window_days,
        payment_term_days=app.settings.payment_term_days,
        original=original,
        account_grace=timedelta(seconds=app.settings.account_grace_s),
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
        settle = partial(store.deliveries.settle_window, order_id, draft.line_ids, kind=INVOICE)
        invoiced = await settle_invoice(
            settle, draft.invoice, order.billing_contact, account, now=now, lease_s=app.settings.due_lease_s
        )
        if invoiced:
            log.info("order %s: invoice %s for lines %s", order_id, invoiced.invoice_number, ",".join(draft.line_ids))
            done.append(invoiced)
    await store.due.finish_due(member, lease, next_at)
    return done
