"""Dramatiq actors: thin async wrappers that receive JSON-able primitives only.

Retry policy lives here, in one place (with `worker.services.failures`): permanent errors are
never retried (the handlers dead-letter or fail them); transient ones (Redis or SMTP away) are
retried with backoff for as long as it takes; an error a handler did not foresee is tried a
bounded number of times, then dead-lettered, and never blocks the rest of its chunk. What a
worker holds while it works (claimed due members, a delivery's lock) is renewed by the
process's heartbeat (`worker.services.leases`), so the lease that brings back a dead worker's
work can be short.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from worker.contract.events import parse_event
from worker.errors import InvalidEvent, PermanentError, PrerequisiteMissing
from worker.runtime.broker import EVENTS_QUEUE, WINDOWS_QUEUE
from worker.services import apply_events as ingestion
from worker.services import failures, invoicing, ledger, retention, sending
from worker.services.context import ServiceContext
from worker.services.leases import Leases
from worker.services.log_context import about, member_ids
from worker.services.metrics import event_type_label
from worker.store.due_members import deliver_member, event_member, parse_member

log = logging.getLogger(__name__)

#: Backoff for messages retried after a transient error (ms): short, because long waits are
#: data in the due index.
RETRY_MIN_BACKOFF_MS = 1_000
RETRY_MAX_BACKOFF_MS = 300_000
RETRY_MAX = 50
#: Due members handed to one `run_due` message, worked on concurrently.
DUE_CHUNK = 16
#: Tries of a due member failing with a transient error (Redis away) in quick succession before
#: it is left to its lease, which brings it back (unforeseen errors: `worker.services.failures`).
RUN_DUE_ATTEMPTS = 5


#: Event types that may be what a parked event waits for (its account, its rewards).
WAKES_PARKED = frozenset({"account.updated", "rewards.accrued"})


@dataclass(frozen=True)
class Actors:
    """The two kinds of queue message: a chunk of events from `ingest`, and claimed due members
    from the scheduler (windows to close, periods to invoice, deliveries, parked events)."""

    apply_events: dramatiq.Actor[..., Any]
    run_due: dramatiq.Actor[..., Any]
    #: The heartbeat that keeps the members' claims while their messages wait and run.
    leases: Leases

    def dispatch_many(self, claimed: list[tuple[str, float]], attempt: int = 0, *, delay_ms: int = 0) -> None:
        """Enqueue claimed due members in chunks: one queue message per `DUE_CHUNK` members.
        Their claims are renewed while the messages wait, until a worker finishes them.

        Raises:
          ValueError: an unknown member (nothing is enqueued).
        """
        for member, _ in claimed:
            parse_member(member)
        for start in range(0, len(claimed), DUE_CHUNK):
            chunk = claimed[start : start + DUE_CHUNK]
            self.run_due.send_with_options(args=([[m, lease] for m, lease in chunk], attempt), delay=delay_ms or None)
            # Held once sent, not before: a message that never went must not keep its members.
            for member, lease in chunk:
                self.leases.hold_claim(member, lease, queued=True)


class ReleaseHolds(dramatiq.Middleware):
    """Once the worker has stopped (its threads done), the heartbeat renews nothing more: the
    claims of messages it did not run come back to the other workers with their leases."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.leases.release_all()


def declare_actors(broker: RedisBroker, app: ServiceContext) -> Actors:
    options: dict[str, Any] = {
        "throws": (PermanentError,),
        "max_retries": RETRY_MAX,
        "min_backoff": RETRY_MIN_BACKOFF_MS,
        "max_backoff": RETRY_MAX_BACKOFF_MS,
    }
    lease_s = app.policy.due_lease_s
    leases = app.leases
    broker.add_middleware(ReleaseHolds(leases))

    async def run_claimed(member: str, lease: float) -> Exception | None:
        """Run one claimed member, its claim renewed meanwhile. An unforeseen error is counted
        (and in the end dead-lettered, see `failures.member_failed`); a transient one is
        returned, for the caller to retry.

        Raises:
          Exception: recording an unforeseen error failed (Redis away): transient itself.
        """
        hold = leases.hold_claim(member, lease)
        with about(**member_ids(member)):
            try:
                await run_one(member, lease)
                return None
            except Exception as exc:
                leases.release(hold)  # before fail_due holds it back under another lease
                if failures.is_transient(exc):
                    return exc
                await failures.member_failed(app, member, lease, exc)
                return None
            finally:
                leases.release(hold)

    async def send_deliveries(settled: list[invoicing.Settled]) -> None:
        # Fast path: each new delivery's due member was created claimed by us (see the settle
        # script); send it right here, concurrently, instead of another queue message and the
        # scheduler's next look. If we die here the lease brings it back.
        members = [(deliver_member(item.delivery_id), item.lease) for item in settled]
        for (member, _), error in zip(
            members, await asyncio.gather(*(run_claimed(m, lease) for m, lease in members)), strict=True
        ):
            if error is not None:
                log.warning("due member %s failed (%s); its lease brings it back", member, failures.describe(error))

    async def apply_one(raw: dict[str, Any], remembered: bool = False) -> list[str]:
        """Apply one event; returns the due members it made due (dead letters the bad ones, and
        parks those that wait for something: see `park`). An unforeseen error parks it for a
        retry, or dead-letters it (`failures.event_failed`); a transient one is raised (the
        chunk is tried again: its events are idempotent)."""
        event_id = raw.get("id") if isinstance(raw, dict) else None
        with about(event_id=event_id if isinstance(event_id, str) else None):
            return await _apply_one(raw, remembered)

    async def _apply_one(raw: dict[str, Any], remembered: bool) -> list[str]:
        try:
            members = await ingestion.apply_event(app, raw, remembered=remembered)
        except InvalidEvent as exc:
            await ingestion.dead_letter(app, raw, exc)
            return []
        except PrerequisiteMissing as exc:
            await park(raw, exc)
            return []
        except Exception as exc:
            if failures.is_transient(exc):
                raise
            await failures.event_failed(app, raw, ingestion.account_of(raw), exc)
            return []
        app.metrics.events.labels(event_type_label(raw.get("type")), "applied").inc()
        account_id = ingestion.account_of(raw)
        if account_id and raw.get("type") in WAKES_PARKED:
            members += await app.store.events.wake_parked(account_id, app.clock().timestamp())
        return members

    def parked_until(exc: PrerequisiteMissing) -> float:
        return exc.retry_at or app.clock().timestamp() + app.policy.parked_retry_s

    async def park(raw: dict[str, Any], exc: PrerequisiteMissing) -> None:
        # Expected with out-of-order events. A long wait is data in the due index, not a
        # delayed message held in a worker's memory.
        log.info("%s", exc)
        app.metrics.events.labels(event_type_label(raw.get("type")), "parked").inc()
        retry_at = parked_until(exc)
        await app.store.events.park_event(str(raw.get("id")), ingestion.account_of(raw), raw, retry_at)

    async def run_members(members: list[str]) -> None:
        for member in dict.fromkeys(members):
            lease = await app.store.due.claim_member(member, app.clock().timestamp(), lease_s)
            if lease is None:  # not due yet (gathering), or another worker holds it
                continue
            error = await run_claimed(member, lease)
            if error is not None:
                log.warning("due member %s failed (%s); its lease brings it back", member, failures.describe(error))

    async def apply_events(raws: list[dict[str, Any]], remembered: bool = False) -> None:
        """A chunk of events from `ingest`: one queue message instead of one per event.
        `remembered`: `ingest` remembered each id's data digest (and refused reused ids)."""
        members: list[str] = []
        for is_activation, run in groupby(
            raws, key=lambda raw: isinstance(raw, dict) and raw.get("type") == ingestion.ACTIVATED
        ):
            if is_activation:
                members += await apply_activations(list(run), remembered)
            else:
                for raw in run:
                    members += await apply_one(raw, remembered)
        await run_members(members)

    async def apply_activations(raws: list[dict[str, Any]], remembered: bool) -> list[str]:
        # One Redis round trip for the whole run (see ingestion.apply_activations).
        events = []
        for raw in raws:
            try:
                events.append(parse_event(raw))
            except InvalidEvent as exc:
                await ingestion.dead_letter(app, raw, exc)
        try:
            members, rejected = await ingestion.apply_activations(app, events, remembered=remembered)
        except Exception as exc:
            if failures.is_transient(exc) or not events:
                raise
            # One of them (or the batch) hit an error nobody foresaw: one at a time, so that
            # only the poison one is held back (those applied already are seen, not redone).
            log.warning("activations failed together (%s); applying them one by one", failures.describe(exc))
            return [member for event in events for member in await apply_one(event.raw, remembered)]
        for event, error in rejected:
            await ingestion.dead_letter(app, event.raw, error)
        app.metrics.events.labels(ingestion.ACTIVATED, "applied").inc(len(events) - len(rejected))
        return members

    async def retry_parked(event_id: str, lease: float) -> None:
        member = event_member(event_id)
        raw = await app.store.events.load_parked(event_id)
        if raw is None:
            await app.store.due.finish_due(member, lease, None)
            return
        try:
            members = await ingestion.apply_event(app, raw)
        except InvalidEvent as exc:
            members = []
            await ingestion.dead_letter(app, raw, exc)  # counted there, as dead-lettered
        except PrerequisiteMissing as exc:
            log.info("%s", exc)
            await app.store.due.finish_due(member, lease, parked_until(exc))
            return
        else:
            app.metrics.events.labels(event_type_label(raw.get("type")), "applied").inc()
        await app.store.events.unpark_event(event_id, ingestion.account_of(raw))
        await app.store.due.finish_due(member, lease, None)
        await run_members(members)

    async def run_one(member: str, lease: float) -> None:
        kind, ident = parse_member(member)
        if kind == "window":
            await send_deliveries(await invoicing.close_windows(app, ident, lease))
        elif kind == "period":
            await send_deliveries(await invoicing.invoice_periods(app, ident, lease))
        elif kind == "event":
            await retry_parked(ident, lease)
        elif kind == "remind":
            await run_members(await ledger.remind(app, ident, lease))
        elif kind == "retain":
            await retention.expire(app, ident, lease)
        else:
            await sending.deliver(app, ident, lease)

    async def run_due(items: list[list[Any]], attempt: int = 0) -> None:
        """Several claimed due members at once (from the scheduler), concurrently."""
        claims = [(str(member), float(lease)) for member, lease in items]
        # Taken over under new leases: the scheduler that kept them while the message waited
        # lets them go, and one whose claim ended meanwhile (finished, or taken by another
        # worker after it ran out) is not run twice.
        taken = await app.store.due.take_claims(claims, now=app.clock().timestamp(), lease_s=lease_s)
        live = [(member, lease) for (member, _), lease in zip(claims, taken, strict=True) if lease is not None]
        for (member, _), lease in zip(claims, taken, strict=True):
            if lease is None:
                log.info("due member %s: its claim ended before it ran (done or taken elsewhere)", member)
        results = await asyncio.gather(*(run_claimed(member, lease) for member, lease in live), return_exceptions=True)
        failed = []
        for (member, lease), result in zip(live, results, strict=True):
            if isinstance(result, BaseException):
                failed.append((member, lease))
                log.warning("due member %s failed (attempt %d): %s", member, attempt + 1, failures.describe(result))
        if failed and attempt + 1 < RUN_DUE_ATTEMPTS:
            # Only the failed ones go again, still under their leases (kept by the heartbeat
            # meanwhile); past the last attempt they come back when their leases run out.
            actors.dispatch_many(failed, attempt + 1, delay_ms=RETRY_MIN_BACKOFF_MS * 2**attempt)

    actors = Actors(
        apply_events=dramatiq.actor(actor_name="apply_events", queue_name=EVENTS_QUEUE, broker=broker, **options)(
            apply_events
        ),
        run_due=dramatiq.actor(actor_name="run_due", queue_name=WINDOWS_QUEUE, broker=broker, **options)(run_due),
        leases=leases,
    )
    return actors
