"""`payment.card_failed`: create the failed-card-payment email (DOMAIN.md section 4)."""

from __future__ import annotations

import logging

from worker.contract.events import Event
from worker.domain.card_numbers import redact_card_numbers
from worker.domain.notices import CardFailure, to_jsonable
from worker.emails.kinds import CARD_FAILED, kind
from worker.errors import InvalidEvent
from worker.services.context import ServiceContext
from worker.services.deliveries import create_delivery
from worker.store.due_members import deliver_member

log = logging.getLogger(__name__)


def card_failed_delivery_id(event_id: str) -> str:
    return kind(CARD_FAILED).delivery_id(event_id)


async def apply_card_failed(app: ServiceContext, event: Event) -> list[str]:
    """To the invoice's billing contact (from the invoice this worker issued, else the event),
    Cc the account's dunning contact.

    Raises:
      InvalidEvent: neither the invoice nor the event names a billing contact.
    """
    data, store = event.data, app.store
    invoice = await store.deliveries.load_invoice(data.invoice_number)
    account = await store.orders.load_account(data.account_id)
    if invoice is not None:
        billing = invoice.billing_contact
    elif data.billing_contact is not None:
        billing = data.billing_contact.to_model()
    else:
        raise InvalidEvent(
            event.id,
            "data.billing_contact",
            f"invoice {data.invoice_number!r} was not issued by this worker and the event names no billing contact",
        )
    notice = CardFailure(
        invoice_number=data.invoice_number,
        amount=data.amount,
        currency=data.currency,
        failed_at=data.failed_at,
        # Redacted again here: an event may reach the queue without passing `ingest`.
        reason=redact_card_numbers(data.reason or ""),
        account_name=account.name if account else (invoice.account_name if invoice else ""),
    )
    delivery_id = card_failed_delivery_id(event.id)
    await create_delivery(
        app,
        CARD_FAILED,
        delivery_id,
        key=data.invoice_number,
        to=billing,
        account=account,
        # Without an account, the locale falls back to the invoice's country.
        fallback_country=invoice.country if invoice else None,
        context={"notice": to_jsonable(notice), "recipient": to_jsonable(billing)},
    )
    log.info("event %s: card payment for invoice %s failed; delivery %s", event.id, data.invoice_number, delivery_id)
    return [deliver_member(delivery_id)]
