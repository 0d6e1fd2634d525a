"""`usage.rated`: one monthly-in-arrears usage invoice per (subscription, month), issued once the
month has ended, with the same recipients, locale, payment guidance, documents, ledger and
reminders as every other invoice (DOMAIN.md section 8). The rules are `worker.domain.usage`'s."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from worker.contract.events import Event
from worker.domain.model import Invoice, InvoiceLine
from worker.domain.usage import UsageLine, line_tax, month_bounds, month_end, usage_error
from worker.emails.kinds import INVOICE
from worker.errors import InvalidEvent, PrerequisiteMissing
from worker.services.context import ServiceContext
from worker.services.ledger import first_reminder_at
from worker.services.settling import settle_invoice
from worker.store.due_members import deliver_member

log = logging.getLogger(__name__)


async def apply_usage_rated(app: ServiceContext, event: Event) -> list[str]:
    """Invoice the month's usage once.

    Raises:
      PrerequisiteMissing: the month has not ended yet (the event waits, parked).
      InvalidEvent: a line breaks a usage rule (its field), or the month was invoiced from
        another event (`data.month`).
    """
    data, store, now = event.data, app.store, app.clock()
    if now < month_end(data.month):
        raise PrerequisiteMissing(f"event {event.id}: usage of {data.month} is invoiced once the month has ended")
    lines = tuple(
        UsageLine(
            line.line_id,
            line.product,
            line.kind,
            line.quantity,
            line.unit,
            line.unit_price,
            line.amount,
            line.tax_rate,
            line.subscribed_quantity,
        )
        for line in data.lines
    )
    broken = usage_error(lines, data.month, data.currency)
    if broken is not None:
        raise InvalidEvent(event.id, f"data.{broken[0]}", broken[1])
    first = await store.deliveries.usage_event(data.subscription_id, data.month, event.id)
    if first != event.id:
        raise InvalidEvent(
            event.id,
            "data.month",
            f"subscription {data.subscription_id}'s usage of {data.month} was invoiced from event {first}",
        )
    account = await store.orders.load_account(data.account_id)
    start, end = month_bounds(data.month)
    issued_on = now.date()
    invoice = Invoice(
        number="",
        # A usage invoice belongs to a subscription, not an order: its reference is the subscription.
        order_id=data.subscription_id,
        account_id=data.account_id,
        subscription_id=data.subscription_id,
        currency=data.currency,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=app.policy.payment_term_days),
        po_number=None,
        lines=tuple(
            InvoiceLine(
                line_id=line.line_id,
                order_id=data.subscription_id,
                product=line.product,
                kind=line.kind,
                period_start=start,
                period_end=end,
                amount=line.amount,
                tax_rate=line.tax_rate,
                tax=line_tax(line, data.currency),
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
            )
            for line in lines
        ),
        billing_contact=data.billing_contact.to_model(),
        account_name=account.name if account else "",
        country=account.country if account else None,
        split_reason=f"usage of {data.month}",
    )
    settle = partial(store.deliveries.settle_usage, data.subscription_id, data.month, kind=INVOICE)
    # Lease 0: the new delivery is due at once, and this event's caller sends it next.
    settled = await settle_invoice(
        settle,
        invoice,
        invoice.billing_contact,
        account,
        now=now,
        lease_s=0,
        first_reminder=first_reminder_at(invoice, app.policy),
    )
    if settled is None:
        log.info("event %s: usage of %s for %s was settled before", event.id, data.month, data.subscription_id)
        return []
    log.info(
        "event %s: usage invoice %s for %s, %s", event.id, settled.invoice_number, data.subscription_id, data.month
    )
    return [deliver_member(settled.delivery_id)]
