"""An invoice's life after it is sent (DOMAIN.md section 8): payments received and their
confirmation, disputes, and payment reminders that read the ledger again before each one.

The rules are the pure core's (`worker.domain.ledger`, `worker.domain.reminders`); this module
loads, asks, and stores. Every effect is idempotent: a payment is recorded once by its event id,
its confirmation and each reminder step are deliveries with their own ids (created once).
"""

from __future__ import annotations

import logging
from datetime import datetime

from worker.contract.events import Event
from worker.data.business_days import business_days
from worker.domain.ledger import Entry, Ledger
from worker.domain.model import Account, Invoice
from worker.domain.notices import PaymentNotice, ReminderNotice, to_jsonable
from worker.domain.reminders import plan_reminders, schedule
from worker.emails.kinds import OVERDUE_REMINDER, PAYMENT_RECEIVED, PAYMENT_REMINDER, kind
from worker.errors import InvalidEvent, PrerequisiteMissing
from worker.services.context import Policy, ServiceContext
from worker.services.deliveries import create_delivery
from worker.store.due_members import deliver_member, remind_member

log = logging.getLogger(__name__)


def first_reminder_at(invoice: Invoice | None, policy: Policy) -> float | None:
    """When the invoice's first reminder step falls due (Unix seconds), or None (no cadence)."""
    if invoice is None or not policy.reminder_days:
        return None
    steps = schedule(invoice.due_on, policy.reminder_days, business_days(invoice.country))
    return steps[0].due_at.timestamp()


async def issued_invoice(app: ServiceContext, event: Event) -> Invoice:
    """The invoice an event names, once this worker has issued it.

    Raises:
      PrerequisiteMissing: not issued yet, and the event is young enough to wait for it (parked).
      InvalidEvent: never issued within `payment_wait_s`, or issued to another account or in
        another currency.
    """
    data = event.data
    invoice = await app.store.deliveries.load_invoice(data.invoice_number)
    if invoice is None:
        now = app.clock().timestamp()
        first = await app.store.events.first_seen(event.id, now)
        reason = f"invoice {data.invoice_number!r} was not issued by this worker"
        if now - first < app.policy.payment_wait_s:
            raise PrerequisiteMissing(f"event {event.id}: {reason} yet; will retry")
        raise InvalidEvent(event.id, "data.invoice_number", reason)
    if invoice.account_id != data.account_id:
        raise InvalidEvent(
            event.id, "data.account_id", f"invoice {invoice.number} was issued to account {invoice.account_id!r}"
        )
    currency = getattr(data, "currency", invoice.currency)
    if currency != invoice.currency:
        raise InvalidEvent(event.id, "data.currency", f"invoice {invoice.number} is in {invoice.currency}")
    return invoice


async def _mail_about(
    app: ServiceContext,
    invoice: Invoice,
    account: Account | None,
    name: str,
    delivery_id: str,
    notice: PaymentNotice | ReminderNotice,
    *,
    now: datetime | None = None,
) -> bool:
    """Create an email of kind `name` about `invoice` to its billing contact (once, by its id)."""
    return await create_delivery(
        app,
        name,
        delivery_id,
        key=invoice.number,
        to=invoice.billing_contact,
        account=account,
        fallback_country=invoice.country,
        context={"notice": to_jsonable(notice), "recipient": to_jsonable(invoice.billing_contact)},
        now=now,
    )


async def apply_payment_received(app: ServiceContext, event: Event) -> list[str]:
    """Record the payment on its invoice's ledger (once) and confirm it to the billing contact:
    the invoice closed, or the balance left, and an overpayment noted."""
    data, store = event.data, app.store
    invoice = await issued_invoice(app, event)
    entry = Entry("payment", event.id, data.amount, data.received_at, data.method)
    await store.ledgers.record(invoice.number, entry)
    ledger = await store.ledgers.load(invoice)
    account = await store.orders.load_account(invoice.account_id)
    notice = PaymentNotice(
        invoice_number=invoice.number,
        currency=invoice.currency,
        amount=data.amount,
        received_at=data.received_at,
        balance=ledger.balance,
        overpaid=ledger.overpaid,
        invoice_total=invoice.total,
        account_name=account.name if account else invoice.account_name,
    )
    delivery_id = kind(PAYMENT_RECEIVED).delivery_id(event.id)
    await _mail_about(app, invoice, account, PAYMENT_RECEIVED, delivery_id, notice)
    log.info(
        "event %s: payment of %s %s on invoice %s; %s, balance %s",
        event.id,
        data.amount,
        invoice.currency,
        invoice.number,
        ledger.state(app.clock().date()),
        ledger.balance,
    )
    return [deliver_member(delivery_id)]


async def apply_invoice_disputed(app: ServiceContext, event: Event) -> list[str]:
    """Open the invoice's dispute (its reminders pause) or end it (`rejected`: they resume)."""
    data = event.data
    invoice = await issued_invoice(app, event)
    await app.store.ledgers.set_dispute(invoice.number, data.state, data.at, data.reason)
    log.info("event %s: dispute %s on invoice %s", event.id, data.state, invoice.number)
    if data.state == "rejected":  # the reminders resume: look at once
        await app.store.due.mark_due(remind_member(invoice.number), app.clock().timestamp())
        return [remind_member(invoice.number)]
    return []


async def remind(app: ServiceContext, number: str, lease: float) -> list[str]:
    """Run an invoice's reminder member: send the step that is due (reading the ledger again:
    nothing for a closed, credited or disputed invoice) and re-arm the next one."""
    store, now = app.store, app.clock()
    member = remind_member(number)
    invoice = await store.deliveries.load_invoice(number)
    if invoice is None:
        await store.due.finish_due(member, lease, None)
        return []
    ledger = await store.ledgers.load(invoice)
    if not ledger.remindable(now.date()):
        # Closed or credited: never again. Disputed: paused until the dispute is rejected.
        log.info("invoice %s is %s: no reminder", number, ledger.state(now.date()))
        await store.due.finish_due(member, lease, None)
        return []
    steps = schedule(invoice.due_on, app.policy.reminder_days, business_days(invoice.country))
    plan = plan_reminders(steps, await store.ledgers.reminders_done(number), now)
    for step in plan.skipped:
        await store.ledgers.note(number, now, "reminder skipped", step=step.offset)
    members = []
    if plan.send is not None:
        members.append(await _send_reminder(app, invoice, ledger, plan.send.offset, plan.send.overdue, now))
    # Marked once sent: a crash before this re-plans the same step, whose delivery exists already.
    done = [step.offset for step in plan.skipped] + ([plan.send.offset] if plan.send else [])
    await store.ledgers.mark_reminders_done(number, done)
    await store.due.finish_due(member, lease, plan.next_at.timestamp() if plan.next_at else None)
    return members


async def _send_reminder(
    app: ServiceContext, invoice: Invoice, ledger: Ledger, offset: int, overdue: bool, now: datetime
) -> str:
    name = OVERDUE_REMINDER if overdue else PAYMENT_REMINDER
    account = await app.store.orders.load_account(invoice.account_id)
    notice = ReminderNotice(
        invoice_number=invoice.number,
        currency=invoice.currency,
        balance=ledger.balance,
        invoice_total=invoice.total,
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        offset=offset,
        account_name=account.name if account else invoice.account_name,
    )
    # One delivery per (invoice, step): a redelivered or re-run member creates it once.
    delivery_id = kind(name).delivery_id(invoice.number, str(offset))
    created = await _mail_about(app, invoice, account, name, delivery_id, notice, now=now)
    if created:
        await app.store.ledgers.note(invoice.number, now, "reminder", step=offset, balance=str(ledger.balance))
        log.info("invoice %s: reminder at %+d days (balance %s)", invoice.number, offset, ledger.balance)
    return deliver_member(delivery_id)
