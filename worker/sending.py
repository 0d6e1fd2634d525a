"""Deliver one email: render it once, send it to the recipients that are due, record each
recipient's outcome, and set the delivery's next due time (a retry) or clear it."""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parseaddr

from worker.app import App
from worker.delivery import due_recipients, finish_attempt, interrupted, next_attempt_at, start_attempt
from worker.due import deliver_member
from worker.emails import CONTEXT_BUILDERS
from worker.errors import PermanentError, TemplateMissing
from worker.mime import build_message, envelope_address
from worker.model import Contact, Recipients
from worker.rendering import render
from worker.smtp_replies import Outcome

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


async def build_delivery_message(app: App, delivery_id: str, delivery: dict) -> bytes:
    builder = CONTEXT_BUILDERS.get(delivery["kind"])
    if builder is None:
        raise TemplateMissing(delivery["kind"], delivery["locale"])
    context = await builder(app.store, delivery)
    rendered = render(delivery["kind"], context, delivery["locale"])
    return build_message(
        rendered,
        recipients_from(delivery["recipients"]),
        mail_from=app.settings.mail_from,
        message_id=message_id_for(delivery_id, app.settings.mail_from),
        sent_at=datetime.fromtimestamp(delivery["created_at"], UTC),
    )


async def deliver(app: App, delivery_id: str, lease: float) -> dict[str, Outcome]:
    """One delivery attempt for the recipients that are due. Returns each recipient's state."""
    store = app.store
    member = deliver_member(delivery_id)
    # The lock lives as long as the lease: a worker that dies mid-send frees both together.
    lock_ttl_s = app.settings.due_lease_s
    token = await store.acquire_lock(f"delivery:{delivery_id}", lock_ttl_s)
    if token is None:  # another worker is sending it; its lease brings the work back if it dies
        log.info("delivery %s: busy elsewhere", delivery_id)
        return {}
    try:
        delivery = await store.load_delivery(delivery_id)
        if delivery is None:
            await store.finish_due(member, lease, None)
            return {}
        states = await store.recipient_states(delivery_id)
        now = app.clock().timestamp()
        states = {a: interrupted(s) if s.state == Outcome.SENDING else s for a, s in states.items()}
        due = due_recipients(states, now)
        if due:
            message = delivery.get("message")
            if message is None:
                try:
                    built = await build_delivery_message(app, delivery_id, delivery)
                except PermanentError as exc:
                    await _fail_permanently(app, delivery_id, states, due, str(exc))
                    await store.finish_due(member, lease, None)
                    return {a: s.state for a, s in (await store.recipient_states(delivery_id)).items()}
                message = await store.store_message(delivery_id, built, message_id_for(delivery_id, app.settings.mail_from))
            sending = {a: start_attempt(states[a], now) for a in due}
            await store.save_recipient_states(delivery_id, sending)
            envelope = {envelope_address(a): a for a in due}
            result = await app.sender.send(_envelope_sender(app), list(envelope), message)
            done_at = app.clock().timestamp()
            finished = {
                envelope[addr]: finish_attempt(sending[envelope[addr]], reply, now=done_at, policy=app.retry_policy, rng=_rng)
                for addr, reply in result.replies.items()
            }
            states.update(finished)
            await store.save_recipient_states(
                delivery_id,
                finished,
                log={"at": done_at, "attempt": {a: {"state": s.state, "reply": s.reply} for a, s in finished.items()}},
            )
            for address, st in finished.items():
                log.info("delivery %s -> %s: %s (%s)", delivery_id, address, st.state, st.reply)
        await store.finish_due(member, lease, next_attempt_at(states))
        return {a: s.state for a, s in states.items()}
    finally:
        await store.release_lock(f"delivery:{delivery_id}", token)


def _envelope_sender(app: App) -> str:
    return envelope_address(parseaddr(app.settings.mail_from)[1])


async def _fail_permanently(app: App, delivery_id: str, states: dict, due: list[str], reason: str) -> None:
    log.error("delivery %s failed permanently: %s", delivery_id, reason)
    now = app.clock().timestamp()
    failed = {a: replace(states[a], state=Outcome.FAILED, reply=reason, updated_at=now) for a in due}
    await app.store.save_recipient_states(delivery_id, failed, log={"at": now, "error": reason})
