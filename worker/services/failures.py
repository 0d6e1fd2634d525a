"""Errors a handler did not foresee: told apart from the transient ones, tried a bounded number
of times, then dead-lettered with their reason, never retried forever.

Transient (Redis or the relay away, `TransientError`): retried with backoff for as long as it
takes; nothing is lost meanwhile. Permanent (`PermanentError`): the handlers dead-letter or fail
it themselves (one that escapes them is dead-lettered at its first attempt). Anything else is a
bug or an input nobody thought of (a `decimal.InvalidOperation` on a huge amount, say): the
event or due member is tried `unforeseen_error_attempts` times, the count kept in Redis
(`Keys.due_failures`) so that a restart or another worker does not start it again, with a
doubling wait (`unforeseen_error_retry_s`) in the due index; then it gets a dead letter naming
it and the error (class, message with card numbers redacted, where it was raised). A delivery
that does is also marked `failed` for every recipient not final yet, so `status` shows it.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import redis.exceptions
from aiosmtplib import SMTPException

from worker.contract.events import redact
from worker.domain.delivery import FINAL, give_up
from worker.errors import InvalidEvent, PermanentError, TransientError
from worker.services import apply_events as ingestion
from worker.services.context import ServiceContext
from worker.services.printable import printable
from worker.services.sending import forget_secrets
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.due_members import event_member, parse_member

log = logging.getLogger(__name__)

#: Errors retried for as long as it takes: a server away, not a fault of the work.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    *REDIS_UNAVAILABLE,  # down, restarting (BusyLoadingError: loading its AOF), stalled
    redis.exceptions.ReadOnlyError,  # a replica during a failover
    redis.exceptions.OutOfMemoryError,  # a full `noeviction` Redis refuses writes until it has room
    redis.exceptions.TryAgainError,
    SMTPException,
)
#: Field named by the dead letter of an unforeseen error (a contract error names the event's).
UNFORESEEN_FIELD = "(unforeseen error)"
#: Longest error message kept in a dead letter or log line.
MESSAGE_MAX_CHARS = 300


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def describe(exc: BaseException) -> str:
    """`ClassName: message (at file:line in function)`, card numbers redacted, control characters
    escaped, bounded."""
    message = printable(redact(str(exc)))  # one line: an input in it cannot forge a log line
    if len(message) > MESSAGE_MAX_CHARS:
        message = message[:MESSAGE_MAX_CHARS] + "..."
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {_short_path(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {message}{where}"


def _attempts_for(app: ServiceContext, exc: Exception) -> int:
    # A permanent error that escaped its handler (which should have dealt with it) is not tried
    # again: retrying cannot help.
    return 1 if isinstance(exc, PermanentError) else max(1, app.policy.unforeseen_error_attempts)


def _short_path(filename: str) -> str:
    """A file of this package from `worker/`, any other from its package (`redis/...`)."""
    if "/worker/" in filename:
        return "worker/" + filename.rsplit("/worker/", 1)[-1]
    return filename.rsplit("/site-packages/", 1)[-1]


def _wait_s(app: ServiceContext, attempts: int) -> float:
    """The wait after `attempts` attempts, as fail_due.lua computes it."""
    return app.policy.unforeseen_error_retry_s * 2 ** (attempts - 1)


async def event_failed(app: ServiceContext, raw: dict[str, Any], account_id: str | None, exc: Exception) -> None:
    """An event of a chunk failed with an unforeseen error: park it for a retry (as a parked
    event, `event:<id>` in the due index), or dead-letter it when its attempts are used up. The
    rest of its chunk goes on."""
    event_id = raw.get("id") if isinstance(raw, dict) else None
    allowed = _attempts_for(app, exc)
    if not isinstance(event_id, str) or not event_id or allowed <= 1:
        await _dead_letter_event(app, raw, exc, attempts=1)
        return
    store, now = app.store, app.clock().timestamp()
    # Kept first, so that its retry finds it; then counted and held back until that retry.
    await store.events.park_event(event_id, account_id, raw, now + _wait_s(app, 1))
    attempts = await store.due.fail_due(
        event_member(event_id), None, attempts=allowed, now=now, first_wait_s=app.policy.unforeseen_error_retry_s
    )
    if attempts >= allowed:
        await _dead_letter_event(app, raw, exc, attempts=attempts)
        await store.events.unpark_event(event_id, account_id)
        return
    log.warning(
        "event %s: unforeseen error, attempt %d of %d, tried again in %.1f s: %s",
        event_id, attempts, allowed, _wait_s(app, attempts), describe(exc),
    )  # fmt: skip


async def member_failed(app: ServiceContext, member: str, lease: float, exc: Exception) -> None:
    """A claimed due member failed with an unforeseen error: count it and hold it back until its
    retry, or, its attempts used up, dead-letter it and drop it from the index."""
    store = app.store
    allowed = _attempts_for(app, exc)
    attempts = await store.due.fail_due(
        member, lease, attempts=allowed, now=app.clock().timestamp(), first_wait_s=app.policy.unforeseen_error_retry_s
    )
    if attempts == 0:  # another worker holds it now, or it was finished before the error
        log.error("due member %s: unforeseen error after its claim ended: %s", member, describe(exc))
        return
    if attempts < allowed:
        log.warning(
            "due member %s: unforeseen error, attempt %d of %d, tried again in %.1f s: %s",
            member, attempts, allowed, _wait_s(app, attempts), describe(exc),
        )  # fmt: skip
        return
    kind, ident = parse_member(member)
    reason = f"{describe(exc)}; gave up after {attempts} attempts"
    if kind == "event":
        raw = await store.events.load_parked(ident)
        await _dead_letter_event(app, raw if raw is not None else {"id": ident}, exc, attempts=attempts)
        await store.events.unpark_event(ident, ingestion.account_of(raw))
    else:
        await ingestion.dead_letter(
            app, {"id": member, "type": f"due {kind}"}, InvalidEvent(member, UNFORESEEN_FIELD, reason)
        )
        if kind == "deliver":
            await _fail_delivery(app, ident, reason)
    await store.due.finish_due(member, lease, None)
    log.error("due member %s dead-lettered: %s", member, reason)


async def _dead_letter_event(app: ServiceContext, raw: Any, exc: Exception, *, attempts: int) -> None:
    event_id = raw.get("id") if isinstance(raw, dict) else None
    reason = f"{describe(exc)}; gave up after {attempts} attempt{'s' if attempts > 1 else ''}"
    await ingestion.dead_letter(app, raw, InvalidEvent(str(event_id) if event_id else None, UNFORESEEN_FIELD, reason))


async def _fail_delivery(app: ServiceContext, delivery_id: str, reason: str) -> None:
    """Every recipient not final yet is `failed` with the reason (status shows it), and the
    delivery's secrets are dropped as for any finished delivery."""
    store = app.store
    now = app.clock().timestamp()
    states = await store.deliveries.recipient_states(delivery_id)
    failed = {address: give_up(st, reason, now=now) for address, st in states.items() if st.state not in FINAL}
    await store.deliveries.save_recipient_states(delivery_id, failed, log={"at": now, "error": reason})
    delivery = await store.deliveries.load_delivery(delivery_id)
    if delivery is not None:
        await forget_secrets(store, delivery_id, delivery, final=True)
