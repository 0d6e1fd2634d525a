"""An email's message: its template context, its Message-ID and its MIME bytes, built once per
delivery and stored, so that every retry sends the same bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from worker.domain.model import Attachment, Contact, Recipients
from worker.emails.kinds import KINDS, Loads, MissingBusinessRecord
from worker.emails.mime import MAX_HEADER_LINE, ascii_domain, build_message, envelope_address
from worker.emails.rendering import copy_subject, render
from worker.errors import TemplateMissing
from worker.services.context import ServiceContext
from worker.services.documents import invoice_documents
from worker.store.deliveries import message_digest
from worker.store.store import Store

log = logging.getLogger(__name__)

#: Message-ID digest characters (base32 of 130 bits); fewer, down to the minimum (80 bits), when
#: the domain is long, so that the `Message-ID:` line keeps within 78 octets where it can.
MESSAGE_ID_DIGEST_CHARS = 26
MESSAGE_ID_MIN_DIGEST_CHARS = 16
#: `Message-ID: <` + `@` + `>`.
_MESSAGE_ID_LINE_OVERHEAD = len("Message-ID: <@>")


def make_message_id(
    delivery_id: str, *, created_at: float, installation_id: str, secret: bytes | None, mail_from: str
) -> str:
    """A Message-ID unique to this installation and this delivery: an HMAC (keyed by
    MESSAGE_ID_SECRET, else by the installation's random id) of the installation id, the delivery
    id and the delivery's creation time. Another installation, or this one after a Redis reset
    (a new installation id, invoice numbers counted again), never makes the same one; nothing in
    it tells the invoice number."""
    domain = ascii_domain(parseaddr(mail_from)[1].rpartition("@")[2] or "invoice-worker.invalid")
    key = secret or installation_id.encode()
    payload = "\0".join((installation_id, delivery_id, repr(created_at))).encode()
    digest = base64.b32encode(hmac.new(key, b"message-id\0" + payload, hashlib.sha256).digest()).decode()
    room = MAX_HEADER_LINE - _MESSAGE_ID_LINE_OVERHEAD - len(domain)
    chars = max(MESSAGE_ID_MIN_DIGEST_CHARS, min(MESSAGE_ID_DIGEST_CHARS, room))
    return f"<{digest[:chars].lower()}@{domain}>"


async def message_id_for(app: ServiceContext, delivery_id: str, delivery: dict[str, Any]) -> str:
    """The delivery's Message-ID: the one stored with its first built message, else a new one
    (`make_message_id`, the same for the same delivery in this installation)."""
    stored = delivery.get("message_id")
    if stored:
        return str(stored)
    return make_message_id(
        delivery_id,
        created_at=delivery["created_at"],
        installation_id=await app.store.installation.installation_id(),
        secret=app.policy.message_id_secret,
        mail_from=app.policy.mail_from,
    )


@dataclass(frozen=True)
class BuiltMessage:
    """A delivery's message as sent (DKIM-signed when configured) and its Message-ID."""

    data: bytes = field(repr=False)
    message_id: str


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


async def build_delivery_message(app: ServiceContext, delivery_id: str, delivery: dict) -> BuiltMessage:
    """Render, build and (with DKIM configured) sign the delivery's message: done once, the
    result stored, so that every retry sends the bytes that were signed.

    Raises:
      TemplateMissing, MissingBusinessRecord, HeaderInjection: as `template_context`, `build_message`.
      DocumentHeld: the invoice's e-invoice broke a rule (`worker.services.documents`).
    """
    kind, metrics = delivery["kind"], app.metrics
    context = await template_context(app.store, delivery_id, delivery)
    started = time.perf_counter()
    rendered = render(kind, context, delivery["locale"])
    rendering_s = time.perf_counter() - started
    attachments: tuple[Attachment, ...] = ()
    if KINDS[kind].documents:
        started = time.perf_counter()
        documents = await invoice_documents(
            app.store, context["invoice"], locale=delivery["locale"], now=app.clock().timestamp()
        )
        metrics.document_seconds.labels(kind).observe(time.perf_counter() - started)
        attachments = documents.attachments
    message_id = await message_id_for(app, delivery_id, delivery)
    started = time.perf_counter()
    copy_of = delivery["context"].get("copy_of")
    if delivery["context"].get("copy"):  # a re-sent copy (`resend`): marked, a reply to the original
        rendered = replace(rendered, subject=copy_subject(rendered.subject, delivery["locale"]))
    data = build_message(
        rendered,
        recipients_from(delivery["recipients"]),
        mail_from=app.policy.mail_from,
        message_id=message_id,
        sent_at=datetime.fromtimestamp(delivery["created_at"], UTC),
        attachments=attachments,
        in_reply_to=copy_of or None,
    )
    data = _signed(app, delivery_id, delivery, data)
    metrics.render_seconds.labels(kind).observe(rendering_s + time.perf_counter() - started)
    metrics.emails_built.labels(kind, delivery["locale"]).inc()
    return BuiltMessage(data, message_id)


def _signed(app: ServiceContext, delivery_id: str, delivery: dict[str, Any], data: bytes) -> bytes:
    """The message as it goes out: with the DKIM-Signature kept when retention dropped it, if
    this is the very message that was signed (signing again would stamp another time, t=);
    signed anew (DKIM configured) if not."""
    digest = delivery.get("message_digest")
    signature = delivery.get("dkim_signature")
    if signature and (digest is None or message_digest(signature + data) == digest):
        return signature + data
    if digest is not None and message_digest(data) != digest:
        # A template, catalog or data file changed since, or an earlier release built it.
        log.warning("delivery %s: built again after retention, it differs from the message sent", delivery_id)
    return data if app.policy.dkim is None else app.policy.dkim.sign(data)


def envelope_sender(app: ServiceContext) -> str:
    return envelope_address(parseaddr(app.policy.mail_from)[1])
