"""`invoice-worker resend` and `document`: an invoice's email again, its documents as sent.

`resend --invoice N [--to ADDRESS]` makes a new delivery of the invoice's email, a marked copy:
its subject says it is a copy (in the email's language), it answers the original (`In-Reply-To`
its Message-ID) and carries the same documents, byte for byte. It goes to the original's To and
Cc, or to ADDRESS alone, and is recorded in the invoice's history (`status --invoice N`). A
running worker sends it.

An invoice whose email was never built (its e-invoice held by the gate, say) has nothing to copy:
`resend` re-runs that delivery instead, once the data is fixed: every recipient pending again,
due now, the documents built again from the data as it is then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email

from worker.domain.delivery import FINAL, RecipientState
from worker.domain.model import Contact, Recipients
from worker.emails.kinds import INVOICE, kind
from worker.emails.mime import refuse_line_breaks
from worker.errors import PermanentError
from worker.services.deliveries import initial_states, recipients_payload
from worker.services.documents import build_documents
from worker.services.messages import recipients_from
from worker.store.documents import InvoiceDocuments
from worker.store.due_members import deliver_member
from worker.store.store import Store

#: How long the re-run holds the delivery's lock while it resets the recipients.
_RERUN_LOCK_S = 30.0


class NoSuchInvoice(PermanentError):
    """No invoice (or no invoice email) of that number."""


@dataclass(frozen=True)
class Resent:
    """What `resend` did: `delivery_id` is the copy's (or, `rerun`, the original's)."""

    delivery_id: str
    recipients: tuple[str, ...]
    rerun: bool


def copy_addressing(original: dict[str, Any], to: str | None) -> Recipients:
    """The copy's recipients: ADDRESS alone, else the original's To and Cc.

    Raises:
      PermanentError: ADDRESS is not an email address.
    """
    if to is None:
        return recipients_from(original["recipients"])
    try:
        address = validate_email(refuse_line_breaks("--to", to), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise PermanentError(f"--to {to!r}: {exc}") from None
    return Recipients(to=(Contact("", address),))


async def resend_invoice(store: Store, number: str, *, to: str | None, now: datetime) -> Resent:
    """Queue a marked copy of invoice `number`'s email (or re-run it: see the module).

    Raises:
      NoSuchInvoice: no invoice email of that number.
      PermanentError: `to` is not an email address.
    """
    original_id = kind(INVOICE).delivery_id(number)
    original = await store.deliveries.load_delivery(original_id)
    if original is None:
        raise NoSuchInvoice(f"no invoice {number}")
    if not original.get("message_id"):
        return await _rerun(store, original_id, now)
    recipients = copy_addressing(original, to)
    copy = await store.documents.next_copy(number)
    delivery_id = kind(INVOICE).delivery_id(number, f"copy-{copy}")
    await store.deliveries.create_delivery(
        delivery_id,
        kind=INVOICE,
        key=number,
        recipients=recipients_payload(recipients),
        locale=original["locale"],
        context={"copy": copy, "copy_of": original["message_id"]},
        states=initial_states(recipients),
        now=now,
    )
    await store.documents.add_copy(number, delivery_id)
    addresses = recipients.envelope
    await store.deliveries.append_delivery_log(
        original_id, {"at": now.timestamp(), "resent": {delivery_id: ", ".join(addresses)}}
    )
    return Resent(delivery_id, addresses, rerun=False)


async def _rerun(store: Store, delivery_id: str, now: datetime) -> Resent:
    """Every recipient that ended without the email pending again, and the delivery due now."""
    token = await store.due.acquire_lock(f"delivery:{delivery_id}", _RERUN_LOCK_S)
    if token is None:
        raise PermanentError(f"delivery {delivery_id} is being sent right now; try again in a minute")
    try:
        states = await store.deliveries.recipient_states(delivery_id)
        ended = {
            address: RecipientState(address=address, role=state.role)
            for address, state in states.items()
            if state.state in FINAL
        }
        await store.deliveries.save_recipient_states(
            delivery_id, ended, log={"at": now.timestamp(), "rerun": "every recipient pending again (resend)"}
        )
        await store.due.mark_due(deliver_member(delivery_id), now.timestamp())
    finally:
        await store.due.release_lock(f"delivery:{delivery_id}", token)
    return Resent(delivery_id, tuple(ended), rerun=True)


async def documents_as_sent(store: Store, number: str) -> InvoiceDocuments:
    """The invoice's documents as they were sent.

    Raises:
      NoSuchInvoice: no such invoice, or its documents were never built (the reason, if held).
    """
    documents = await store.documents.load(number)
    if documents is not None:
        return documents
    invoice = await store.deliveries.load_invoice(number)
    if invoice is None:
        raise NoSuchInvoice(f"no invoice {number}")
    source = await store.documents.source(number)
    if source is not None:  # dropped by retention: the same files, built again (not kept again)
        account, locale = source
        return build_documents(invoice, account, locale=locale)
    held = await store.documents.held(number)
    if held is not None:
        rules = ", ".join(rule["rule_id"] for rule in held["rules"])
        raise NoSuchInvoice(f"invoice {number} has no documents: the gate held its e-invoice ({rules}); see status")
    raise NoSuchInvoice(f"invoice {number} has no documents yet: its email has not been built")
