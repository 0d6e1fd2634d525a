"""Deliver one email: render it once, send it to the recipients that are due, record each
recipient's outcome, and set the delivery's next due time (a retry) or clear it."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from worker.domain.delivery import (
    Outcome,
    RecipientState,
    SmtpReply,
    due_recipients,
    finish_attempt,
    give_up,
    interrupted,
    next_attempt_at,
    start_attempt,
)
from worker.emails.kinds import KINDS
from worker.emails.mime import envelope_address
from worker.errors import PermanentError
from worker.services import retention
from worker.services.alerts import alert_on_setup_replies
from worker.services.bounces import issue_return_paths
from worker.services.context import ServiceContext
from worker.services.log_context import about, mask_addresses, recipient_domain
from worker.services.messages import build_delivery_message, envelope_sender
from worker.services.metrics import reply_class
from worker.services.outcomes import HeldOutcome
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.deliveries import OpenDelivery
from worker.store.due_members import deliver_member
from worker.store.store import Store

log = logging.getLogger(__name__)
_rng = random.Random()


async def forget_secrets(store: Store, delivery_id: str, delivery: dict[str, Any], *, final: bool) -> None:
    """Called once a delivery's message is built and stored (`final` False), and once every
    recipient is final (`final` True): drop the secrets the delivery no longer needs."""
    code_ref = delivery["context"].get("code_ref")
    if code_ref:
        await store.events.forget_sealed(code_ref)
    kind = KINDS.get(delivery["kind"])
    if final and kind is not None and kind.secret:
        await store.deliveries.forget_message(delivery_id)


async def deliver(app: ServiceContext, delivery_id: str, lease: float) -> dict[str, Outcome]:
    """One delivery attempt for the recipients that are due. Returns each recipient's state."""
    store = app.store
    member = deliver_member(delivery_id)
    opened = await _open(app, store, delivery_id)
    if opened is None:  # another worker is sending it; its lease brings the work back if it dies
        log.info("delivery %s: busy elsewhere", delivery_id)
        return {}
    token, delivery, states = opened.token, opened.delivery, opened.states
    # Renewed by the process's heartbeat (services/leases.py) while the attempt runs, however slow.
    lock_hold = app.leases.hold_lock(f"delivery:{delivery_id}", token, guard=(member, lease))
    released = False
    try:
        if delivery is None:
            await store.due.finish_due(member, lease, None)
            return {}
        now = app.clock().timestamp()
        states = {a: interrupted(s) if s.state == Outcome.SENDING else s for a, s in states.items()}
        due = await _skip_suppressed(app, delivery_id, delivery["kind"], states, due_recipients(states, now), now)
        finished: dict[str, RecipientState] = {}
        attempt_log = None
        if due:
            message = delivery.get("message")
            sending = {a: start_attempt(states[a], now) for a in due}
            if message is None:
                try:
                    if unreadable := delivery.get("message_unreadable"):  # sealed with another key:
                        raise PermanentError(unreadable)  # never rebuilt (it may hold a secret gone since)
                    built = await build_delivery_message(app, delivery_id, delivery)
                except PermanentError as exc:
                    await _fail_permanently(app, delivery_id, delivery["kind"], states, due, str(exc))
                    await store.due.finish_due(member, lease, None)
                    await store.deliveries.mark_retrying(delivery_id, None)
                    # Its invoice's documents may have been kept before the build failed.
                    await _finished(app, store, delivery_id, delivery)
                    return {a: s.state for a, s in (await store.deliveries.recipient_states(delivery_id)).items()}
                message = await store.deliveries.store_message(
                    delivery_id, built.data, built.message_id, sending=sending
                )
                await forget_secrets(store, delivery_id, delivery, final=False)
            else:
                await store.deliveries.save_recipient_states(delivery_id, sending)
            envelope = {envelope_address(a): a for a in due}
            if lock_hold.lost:  # another worker took the delivery over after our lease ran out: it sends
                return {}
            replies = await _send(app, delivery_id, envelope, message)
            await alert_on_setup_replies(app, delivery_id, replies)  # a wrong password, HELO name, TLS
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
            app.metrics.count_outcomes(delivery["kind"], finished)
            for address, st in finished.items():
                domain = recipient_domain(address)
                reply = mask_addresses(st.reply or "")
                with about(recipient_domain=domain, smtp_reply=reply, state=str(st.state)):
                    log.info("delivery %s -> %s at %s: %s (%s)", delivery_id, st.role, domain, st.state, reply)
        next_at = next_attempt_at(states)

        # Until the outcome is written the heartbeat keeps the claim and the lock ours, so that no
        # other worker takes the delivery for an interrupted send and sends it again.
        claim_hold = app.leases.hold_claim(member, lease)

        async def after_written(written_to: Store) -> None:
            app.leases.release(lock_hold, claim_hold)
            if next_at is None:
                await _finished(app, written_to, delivery_id, delivery)

        # From here the lock is released by the outcome's write, now or, if Redis does not take
        # it, once it does (the journal holds it, and this process sends nothing new meanwhile).
        released = True
        await app.outcomes.write(
            store, HeldOutcome(delivery_id, token, finished, attempt_log, lease, next_at, then=after_written)
        )
        return {a: s.state for a, s in states.items()}
    finally:
        if not released:
            app.leases.release(lock_hold)
            await _release_quietly(store, delivery_id, token)


async def _finished(app: ServiceContext, store: Store, delivery_id: str, delivery: dict[str, Any]) -> None:
    """Every recipient is final: drop the secrets the delivery kept, and schedule its bytes'
    retention."""
    await forget_secrets(store, delivery_id, delivery, final=True)
    await retention.schedule(store, delivery_id, app.clock().timestamp(), app.policy.message_retention_s)


async def _open(app: ServiceContext, store: Store, delivery_id: str) -> OpenDelivery | None:
    """Take the delivery's lock and read it, once held outcomes are written and Redis answers
    with a safe policy (this process sends nothing new before); waits through a Redis fault."""
    while True:
        await app.outcomes.wait_until_clear(store)
        try:
            # The lock lives as long as the lease: a worker that dies mid-send frees both together.
            return await store.deliveries.open_delivery(delivery_id, app.policy.due_lease_s)
        except REDIS_UNAVAILABLE as exc:
            # Nothing was sent. Had the lock been taken all the same, the next try finds it
            # busy and the lease brings the work back.
            app.outcomes.report_unreachable(store.where, exc)


async def _release_quietly(store: Store, delivery_id: str, token: str) -> None:
    """Release the lock after an error before anything was sent; if Redis is down too, the
    lock expires with its lease (the error that brought us here is the one to raise)."""
    try:
        await store.due.release_lock(f"delivery:{delivery_id}", token)
    except REDIS_UNAVAILABLE:
        log.debug("delivery %s: lock left to expire (Redis unavailable)", delivery_id)


async def _send(
    app: ServiceContext, delivery_id: str, envelope: dict[str, str], message: bytes
) -> dict[str, SmtpReply | None]:
    """One transaction for all recipients, or with VERP (a bounce secret set) one per recipient,
    each with its own signed return path so that a later bounce names delivery and recipient."""
    secret = app.policy.bounce_secret
    if secret is None:
        return await _timed_send(app, envelope_sender(app), list(envelope), message)
    # Every return path is kept in Redis before the first copy goes out: a Redis fault now stops
    # the attempt before anything is sent, never between two copies.
    senders = await issue_return_paths(app, delivery_id, list(envelope.values()))
    replies: dict[str, SmtpReply | None] = {}
    for smtp_address, address in envelope.items():
        replies.update(await _timed_send(app, senders[address], [smtp_address], message))
    return replies


async def _timed_send(
    app: ServiceContext, mail_from: str, recipients: list[str], message: bytes
) -> dict[str, SmtpReply | None]:
    started = time.perf_counter()
    replies = (await app.sender.send(mail_from, recipients, message)).replies
    metrics = app.metrics
    metrics.send_seconds.observe(time.perf_counter() - started)
    for reply in replies.values():
        stage = str(reply.stage) if reply is not None and reply.stage is not None else "none"
        metrics.smtp_replies.labels(stage, reply_class(reply)).inc()
    return replies


async def _skip_suppressed(
    app: ServiceContext, delivery_id: str, kind: str, states: dict, due: list[str], now: float
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
        app.metrics.count_outcomes(kind, skipped)
        states.update(skipped)
        await app.store.deliveries.save_recipient_states(
            delivery_id, skipped, log={"at": now, "suppressed": {a: s.reply for a, s in skipped.items()}}
        )
        domains = ", ".join(sorted({recipient_domain(a) for a in skipped}))
        log.info("delivery %s: not sent to %d suppressed address(es) at %s", delivery_id, len(skipped), domains)
    return [a for a in due if a not in skipped]


async def _fail_permanently(
    app: ServiceContext, delivery_id: str, kind: str, states: dict, due: list[str], reason: str
) -> None:
    log.error("delivery %s failed permanently: %s", delivery_id, reason)
    now = app.clock().timestamp()
    failed = {a: give_up(states[a], reason, now=now) for a in due}
    app.metrics.count_outcomes(kind, failed)
    await app.store.deliveries.save_recipient_states(delivery_id, failed, log={"at": now, "error": reason})
