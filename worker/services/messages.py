"""An email's message: its template context, its Message-ID and its MIME bytes, built once per
delivery and stored, so that every retry sends the same bytes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from worker.domain.model import Contact, Recipients
from worker.emails.kinds import KINDS, Loads, MissingBusinessRecord
from worker.emails.mime import build_message, envelope_address
from worker.emails.rendering import render
from worker.errors import TemplateMissing
from worker.services.context import ServiceContext
from worker.store.store import Store


def message_id_for(delivery_id: str, mail_from: str) -> str:
    """A stable Message-ID: the same delivery always carries the same one, retries included."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "invoice-worker.invalid"
    digest = hashlib.sha256(delivery_id.encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-." else "." for ch in delivery_id)
    return f"<{safe}.{digest}@{domain}>"


def recipients_from(payload: dict[str, list[dict[str, str]]]) -> Recipients:
    return Recipients(
        to=tuple(Contact(c["name"], c["email"]) for c in payload.get("to", [])),
        cc=tuple(Contact(c["name"], c["email"]) for c in payload.get("cc", [])),
    )


async def template_context(store: Store, delivery_id: str, delivery: dict[str, Any]) -> dict[str, Any]:
    """Load what the delivery's kind needs besides its stored context, and build its template context.

    Raises:
      TemplateMissing: the kind is not registered.
      MissingBusinessRecord: the invoice, or the sealed secret, is gone.
    """
    kind = KINDS.get(delivery["kind"])
    if kind is None:
        raise TemplateMissing(delivery["kind"], delivery["locale"])
    fields = dict(delivery["context"])
    if kind.loads is Loads.INVOICE:
        invoice = await store.deliveries.load_invoice(delivery["key"])
        if invoice is None:
            raise MissingBusinessRecord(delivery_id, f"invoice {delivery['key']}")
        fields[kind.loads.value] = invoice
    elif kind.loads is Loads.SEALED_CODE:
        # The code is read from its sealed key here, the only place it leaves Redis before sending.
        code = await store.events.unseal(fields["code_ref"])
        if code is None:
            raise MissingBusinessRecord(
                delivery_id, "the redemption code (its sealed copy expired: SEALED_SECRET_TTL_S)"
            )
        fields[kind.loads.value] = code
    return kind.build(fields)


async def build_delivery_message(app: ServiceContext, delivery_id: str, delivery: dict) -> bytes:
    context = await template_context(app.store, delivery_id, delivery)
    rendered = render(delivery["kind"], context, delivery["locale"])
    return build_message(
        rendered,
        recipients_from(delivery["recipients"]),
        mail_from=app.policy.mail_from,
        message_id=message_id_for(delivery_id, app.policy.mail_from),
        sent_at=datetime.fromtimestamp(delivery["created_at"], UTC),
    )


def envelope_sender(app: ServiceContext) -> str:
    return envelope_address(parseaddr(app.policy.mail_from)[1])
