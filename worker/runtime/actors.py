"""Dramatiq actors: thin async wrappers that receive JSON-able primitives only.

Retry policy lives here, in one place: permanent errors are never retried (the handlers
dead-letter or fail them); anything else (Redis or SMTP down) is retried with backoff, and the
due-time lease brings back whatever a dead worker held.
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
from worker.services import invoicing, sending
from worker.services.context import ServiceContext
from worker.store.due_members import event_member, parse_member

log = logging.getLogger(__name__)

#: Backoff for retried messages (ms): short, because long waits are data in the due index.
RETRY_MIN_BACKOFF_MS = 1_000
RETRY_MAX_BACKOFF_MS = 300_000
RETRY_MAX = 50
#: Due members handed to one `run_due` message, worked on concurrently.
DUE_CHUNK = 16
#: Tries of a failed due member within one lease before it is left to the lease.
RUN_DUE_ATTEMPTS = 5


#: Event types that may be what a parked event waits for (its account, its rewards).
WAKES_PARKED = frozenset({"account.updated", "rewards.accrued"})


def _account_of(raw: dict[str, Any]) -> str | None:
    data = raw.get("data")
    account_id = data.get("account_id") if isinstance(data, dict) else None
    return account_id if isinstance(account_id, str) else None


@dataclass(frozen=True)
class Actors:
    """The two kinds of queue message: a chunk of events from `ingest`, and claimed due members
    from the scheduler (windows to close, periods to invoice, deliveries, parked events)."""

    apply_events: dramatiq.Actor[..., Any]
    run_due: dramatiq.Actor[..., Any]

    def dispatch_many(self, claimed: list[tuple[str, float]]) -> None:
        """Enqueue claimed due members in chunks: one queue message per `DUE_CHUNK` members.

        Raises:
          ValueError: an unknown member (nothing is enqueued).
        """
        for member, _ in claimed:
            parse_member(member)
        for start in range(0, len(claimed), DUE_CHUNK):
            self.run_due.send([[member, lease] for member, lease in claimed[start : start + DUE_CHUNK]])


def declare_actors(broker: RedisBroker, app: ServiceContext) -> Actors:
    options: dict[str, Any] = {
        "throws": (PermanentError,),
        "max_retries": RETRY_MAX,
        "min_backoff": RETRY_MIN_BACKOFF_MS,
        "max_backoff": RETRY_MAX_BACKOFF_MS,
    }
    lease_s = app.policy.due_lease_s

    async def send_deliveries(settled: list[invoicing.Settled]) -> None:
        # Fast path: each new delivery's due member was created claimed by us (see the settle
        # script); send it right here, concurrently, instead of another queue message and the
        # scheduler's next look. If we die here the lease brings it back.
        await asyncio.gather(*(sending.deliver(app, item.delivery_id, item.lease) for item in settled))

    async def apply_one(raw: dict[str, Any]) -> list[str]:
        """Apply one event; returns the due members it made due (dead letters the bad ones, and
        parks those that wait for something: see `park`)."""
        try:
            members = await ingestion.apply_event(app, raw)
        except InvalidEvent as exc:
            await ingestion.dead_letter(app, raw, exc)
            return []
        except PrerequisiteMissing as exc:
            await park(raw, exc)
            return []
        account_id = _account_of(raw)
        if account_id and raw.get("type") in WAKES_PARKED:
            members += await app.store.events.wake_parked(account_id, app.clock().timestamp())
        return members

    async def park(raw: dict[str, Any], exc: PrerequisiteMissing) -> None:
        # Expected with out-of-order events. A long wait is data in the due index, not a
        # delayed message held in a worker's memory.
        log.info("%s", exc)
        retry_at = app.clock().timestamp() + app.policy.parked_retry_s
        await app.store.events.park_event(str(raw.get("id")), _account_of(raw), raw, retry_at)

    async def run_members(members: list[str]) -> None:
        for member in dict.fromkeys(members):
            lease = await app.store.due.claim_member(member, app.clock().timestamp(), lease_s)
            if lease is not None:  # else not due yet (gathering), or another worker holds it
                await run_one(member, lease)

    async def apply_events(raws: list[dict[str, Any]]) -> None:
        """A chunk of events from `ingest`: one queue message instead of one per event."""
        members: list[str] = []
        for is_activation, run in groupby(
            raws, key=lambda raw: isinstance(raw, dict) and raw.get("type") == ingestion.ACTIVATED
        ):
            if is_activation:
                members += await apply_activations(list(run))
            else:
                for raw in run:
                    members += await apply_one(raw)
        await run_members(members)

    async def apply_activations(raws: list[dict[str, Any]]) -> list[str]:
        # One Redis round trip for the whole run (see ingestion.apply_activations).
        events = []
        for raw in raws:
            try:
                events.append(parse_event(raw))
            except InvalidEvent as exc:
                await ingestion.dead_letter(app, raw, exc)
        members, rejected = await ingestion.apply_activations(app, events)
        for event, error in rejected:
            await ingestion.dead_letter(app, event.raw, error)
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
            await ingestion.dead_letter(app, raw, exc)
        except PrerequisiteMissing as exc:
            log.info("%s", exc)
            await app.store.due.finish_due(member, lease, app.clock().timestamp() + app.policy.parked_retry_s)
            return
        await app.store.events.unpark_event(event_id, _account_of(raw))
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
        else:
            await sending.deliver(app, ident, lease)

    async def run_due(items: list[list[Any]], attempt: int = 0) -> None:
        """Several claimed due members at once (from the scheduler), concurrently."""
        results = await asyncio.gather(*(run_one(member, lease) for member, lease in items), return_exceptions=True)
        failed = [item for item, result in zip(items, results, strict=False) if isinstance(result, Exception)]
        for (member, _), result in zip(items, results, strict=False):
            if isinstance(result, Exception):
                log.warning("due member %s failed (attempt %d): %r", member, attempt + 1, result)
        if failed and attempt + 1 < RUN_DUE_ATTEMPTS:
            # Only the failed ones go again, still under their leases; past the last attempt
            # they come back when their leases run out.
            actors.run_due.send_with_options(args=(failed, attempt + 1), delay=RETRY_MIN_BACKOFF_MS * 2**attempt)

    actors = Actors(
        apply_events=dramatiq.actor(actor_name="apply_events", queue_name=EVENTS_QUEUE, broker=broker, **options)(
            apply_events
        ),
        run_due=dramatiq.actor(actor_name="run_due", queue_name=WINDOWS_QUEUE, broker=broker, **options)(run_due),
    )
    return actors
