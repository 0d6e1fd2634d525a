"""`invoice.credited`: a valid dispute ends with a credit note (its own number series, the
invoice's amounts credited, the reason) and, with `reissue`, a replacement invoice from the
order's and account's data as they are now, with what was paid on the credited invoice applied to
it; without `reissue`, what was paid becomes the account's credit balance (DOMAIN.md section 8).

Every step is idempotent: the credit note and the replacement are settled once per credited
invoice (by the settle script), the flag and the carried payment are written once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial

from worker.contract.events import Event
from worker.domain.ledger import Entry, carry_over
from worker.domain.model import Account, Invoice
from worker.domain.notices import CreditNotice, to_jsonable
from worker.emails.kinds import CREDIT_NOTE, INVOICE, kind
from worker.errors import InvalidEvent
from worker.services.context import ServiceContext
from worker.services.ledger import first_reminder_at, issued_invoice
from worker.services.settling import settle_invoice
from worker.store.due_members import deliver_member

log = logging.getLogger(__name__)


async def apply_invoice_credited(app: ServiceContext, event: Event) -> list[str]:
    """Issue the replacement (with `reissue`), then the credit note, and mail them.

    Raises:
      InvalidEvent: the invoice is unknown (after waiting), another account's, or a credit note.
    """
    data, store = event.data, app.store
    invoice = await issued_invoice(app, event)
    if invoice.credits is not None:
        raise InvalidEvent(event.id, "data.invoice_number", f"{invoice.number} is a credit note, not an invoice")
    account = await store.orders.load_account(invoice.account_id)
    paid = (await store.ledgers.load(invoice)).covered
    members: list[str] = []
    replacement, total = await _reissue(app, invoice, account) if data.reissue else (None, None)
    carried, credit = carry_over(paid, total)
    if replacement is not None:
        members.append(deliver_member(kind(INVOICE).delivery_id(replacement)))
        if carried > 0:  # what was paid on the credited invoice pays its replacement
            await store.ledgers.record(replacement, Entry("carried", invoice.number, carried, data.credited_at))
    if credit > 0:
        await store.ledgers.keep_account_credit(invoice.account_id, invoice.number, credit)
    notice = CreditNotice(
        credit_note="",
        credited=invoice.number,
        credited_issued_on=invoice.issued_on,
        reason=data.reason,
        replacement=replacement,
        paid=paid,
        account_name=account.name if account else invoice.account_name,
    )
    note_number = await _credit_note(app, invoice, account, notice, event)
    members.insert(0, deliver_member(kind(CREDIT_NOTE).delivery_id(note_number)))
    await store.ledgers.set_credited(invoice.number, note_number, data.credited_at, data.reason)
    log.info(
        "event %s: invoice %s credited by %s%s",
        event.id,
        invoice.number,
        note_number,
        f", replaced by {replacement}" if replacement else "",
    )
    return members


async def _credit_note(
    app: ServiceContext, invoice: Invoice, account: Account | None, notice: CreditNotice, event: Event
) -> str:
    """The credit note's number: issued now, or found (issued by an earlier try)."""
    data, store, now = event.data, app.store, app.clock()
    note = replace(
        invoice,
        number="",
        issued_on=data.credited_at.date(),
        due_on=data.credited_at.date(),
        credits=invoice.number,
        credit_reason=data.reason,
        replaces=None,
    )
    settle = partial(store.deliveries.settle_credit_note, invoice.number, kind=CREDIT_NOTE)
    context = {"notice": to_jsonable(notice), "recipient": to_jsonable(invoice.billing_contact)}
    settled = await settle_invoice(
        settle, note, invoice.billing_contact, account, now=now, lease_s=0, email=CREDIT_NOTE, context=context
    )
    if settled is not None:
        return settled.invoice_number
    found = await store.deliveries.credit_note_of(invoice.number)
    assert found is not None, invoice.number  # settled before, by this event's earlier try
    return found


async def _reissue(app: ServiceContext, invoice: Invoice, account: Account | None) -> tuple[str, Decimal]:
    """The replacement invoice's number and total: issued now from the order's and account's
    data as they are now (a corrected PO number, name or country), or found (issued before)."""
    store, now = app.store, app.clock()
    order = await store.orders.load_order(invoice.order_id)
    today = now.date()
    new = replace(
        invoice,
        number="",
        issued_on=today,
        due_on=today + timedelta(days=app.policy.payment_term_days),
        po_number=order.po_number if order is not None else invoice.po_number,
        billing_contact=order.billing_contact if order is not None else invoice.billing_contact,
        account_name=account.name if account else invoice.account_name,
        country=account.country if account else invoice.country,
        replaces=invoice.number,
    )
    settle = partial(store.deliveries.settle_reissue, invoice.number, kind=INVOICE)
    settled = await settle_invoice(
        settle,
        new,
        new.billing_contact,
        account,
        now=now,
        lease_s=0,
        first_reminder=first_reminder_at(new, app.policy),
    )
    if settled is not None:
        return settled.invoice_number, new.total
    found = await store.deliveries.replacement_of(invoice.number)
    assert found is not None, invoice.number
    reissued = await store.deliveries.load_invoice(found)
    return found, reissued.total if reissued else new.total
