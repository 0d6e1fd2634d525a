"""`usage.rated`: one monthly-in-arrears usage invoice per (subscription, month), issued once the
month has ended, with the same recipients, locale, payment guidance, documents, ledger and
reminders as every other invoice (DOMAIN.md section 8). The rules are `worker.domain.usage`'s."""

from __future__ import annotations

import logging
from functools import partial

from worker.contract.events import Event
from worker.domain.usage import month_end, usage_error, usage_invoice
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
        raise PrerequisiteMissing(
            f"event {event.id}: usage of {data.month} is invoiced once the month has ended",
            retry_at=month_end(data.month).timestamp(),  # not polled every minute for weeks
        )
    lines = tuple(line.to_model() for line in data.lines)
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
    invoice = usage_invoice(
        subscription_id=data.subscription_id,
        month=data.month,
        currency=data.currency,
        lines=lines,
        billing_contact=data.billing_contact.to_model(),
        account_id=data.account_id,
        account=account,
        issued_on=now.date(),
        payment_term_days=app.policy.payment_term_days,
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
