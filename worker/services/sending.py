"""Deliver one email: render it once, send it to the recipients that are due, record each
recipient's outcome, and set the delivery's next due time (a retry) or clear it."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

from worker.domain.delivery import (
    Outcome,
    RecipientState,
    SmtpReply,
    due_recipients,
    finish_attempt,
    interrupted,
    next_attempt_at,
    start_attempt,
)
from worker.domain.model import Contact, Recipients
from worker.domain.verp import return_path
from worker.emails.kinds import KINDS, Loads, MissingBusinessRecord
from worker.emails.mime import build_message, envelope_address
from worker.emails.rendering import render
from worker.errors import PermanentError, TemplateMissing
from worker.services.context import ServiceContext
from worker.store.due_members import deliver_member
from worker.store.store import Store

log = logging.getLogger(__name__)
_rng = random.Random()


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


async def forget_secrets(store: Store, delivery_id: str, delivery: dict[str, Any], *, final: bool) -> None:
    """Called once a delivery's message is built and stored (`final` False), and once every
    recipient is final (`final` True): drop the secrets the delivery no longer needs."""
    code_ref = delivery["context"].get("code_ref")
    if code_ref:
        await store.events.forget_sealed(code_ref)
    kind = KINDS.get(delivery["kind"])
    if final and kind is not None and kind.secret:
        await store.deliveries.forget_message(delivery_id)


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


async def deliver(app: ServiceContext, delivery_id: str, lease: float) -> dict[str, Outcome]:
    """One delivery attempt for the recipients that are due. Returns each recipient's state."""
    store = app.store
    member = deliver_member(delivery_id)
    # The lock lives as long as the lease: a worker that dies mid-send frees both together.
    opened = await store.deliveries.open_delivery(delivery_id, app.policy.due_lease_s)
    if opened is None:  # another worker is sending it; its lease brings the work back if it dies
        log.info("delivery %s: busy elsewhere", delivery_id)
        return {}
    token, delivery, states = opened.token, opened.delivery, opened.states
    released = False
    try:
        if delivery is None:
            await store.due.finish_due(member, lease, None)
            return {}
        now = app.clock().timestamp()
        states = {a: interrupted(s) if s.state == Outcome.SENDING else s for a, s in states.items()}
        due = await _skip_suppressed(app, delivery_id, states, due_recipients(states, now), now)
        finished: dict[str, RecipientState] = {}
        attempt_log = None
        if due:
            message = delivery.get("message")
            sending = {a: start_attempt(states[a], now) for a in due}
            if message is None:
                try:
                    built = await build_delivery_message(app, delivery_id, delivery)
                except PermanentError as exc:
                    await _fail_permanently(app, delivery_id, states, due, str(exc))
                    await store.due.finish_due(member, lease, None)
                    await forget_secrets(store, delivery_id, delivery, final=True)
                    return {a: s.state for a, s in (await store.deliveries.recipient_states(delivery_id)).items()}
                message = await store.deliveries.store_message(
                    delivery_id, built, message_id_for(delivery_id, app.policy.mail_from), sending=sending
                )
                await forget_secrets(store, delivery_id, delivery, final=False)
            else:
                await store.deliveries.save_recipient_states(delivery_id, sending)
            envelope = {envelope_address(a): a for a in due}
            replies = await _send(app, delivery_id, envelope, message)
            done_at = app.clock().timestamp()
            finished = {
                envelope[addr]: finish_attempt(
                    sending[envelope[addr]], reply, now=done_at, policy=app.retry_policy, rng=_rng
                )
                for addr, reply in replies.items()
            }
            states.update(finished)
            attempt_log = {
                "at": done_at,
                "attempt": {a: {"state": s.state, "reply": s.reply} for a, s in finished.items()},
            }
            for address, st in finished.items():
                log.info("delivery %s -> %s: %s (%s)", delivery_id, address, st.state, st.reply)
        next_at = next_attempt_at(states)
        await store.deliveries.close_delivery(
            delivery_id, token, states=finished, log=attempt_log, lease=lease, next_at=next_at
        )
        released = True
        if next_at is None:
            await forget_secrets(store, delivery_id, delivery, final=True)
        return {a: s.state for a, s in states.items()}
    finally:
        if not released:
            await store.due.release_lock(f"delivery:{delivery_id}", token)


def _envelope_sender(app: ServiceContext) -> str:
    return envelope_address(parseaddr(app.policy.mail_from)[1])


async def _send(
    app: ServiceContext, delivery_id: str, envelope: dict[str, str], message: bytes
) -> dict[str, SmtpReply | None]:
    """One transaction for all recipients, or with VERP (a bounce secret set) one per recipient,
    each with its own signed return path so that a later bounce names delivery and recipient."""
    secret = app.policy.bounce_secret
    if secret is None:
        return (await app.sender.send(_envelope_sender(app), list(envelope), message)).replies
    domain = app.policy.bounce_domain
    replies: dict[str, SmtpReply | None] = {}
    for smtp_address, address in envelope.items():
        sender = return_path(delivery_id, address, secret=secret, domain=domain)
        replies.update((await app.sender.send(sender, [smtp_address], message)).replies)
    return replies


async def _skip_suppressed(
    app: ServiceContext, delivery_id: str, states: dict, due: list[str], now: float
) -> list[str]:
    """Record suppressed addresses as such (never sent to) and return the others."""
    skipped = {}
    for address, entry in (await app.store.deliveries.live_suppressions(due, now)).items():
        if entry is not None:
            until = datetime.fromtimestamp(entry["until"], UTC).isoformat()
            reply = f"address suppressed until {until}: {entry['reason']}"
            skipped[address] = replace(
                states[address], state=Outcome.SUPPRESSED, reply=reply, updated_at=now, next_attempt_at=None
            )
    if skipped:
        states.update(skipped)
        await app.store.deliveries.save_recipient_states(
            delivery_id, skipped, log={"at": now, "suppressed": {a: s.reply for a, s in skipped.items()}}
        )
        log.info("delivery %s: not sent to suppressed %s", delivery_id, ", ".join(skipped))
    return [a for a in due if a not in skipped]


async def _fail_permanently(app: ServiceContext, delivery_id: str, states: dict, due: list[str], reason: str) -> None:
    log.error("delivery %s failed permanently: %s", delivery_id, reason)
    now = app.clock().timestamp()
    failed = {a: replace(states[a], state=Outcome.FAILED, reply=reason, updated_at=now) for a in due}
    await app.store.deliveries.save_recipient_states(delivery_id, failed, log={"at": now, "error": reason})
