"""Dramatiq actors: thin async wrappers that receive JSON-able primitives only.

Retry policy lives here, in one place: permanent errors are never retried (the handlers
dead-letter or fail them); anything else (Redis or SMTP down) is retried with backoff, and the
due-time lease brings back whatever a dead worker held.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from worker import ingestion, invoicer, period_invoicer, sending
from worker.app import App
from worker.broker import DELIVERY_QUEUE, EVENTS_QUEUE, WINDOWS_QUEUE
from worker.due import deliver_member, parse_member
from worker.errors import InvalidEvent, PermanentError, PrerequisiteMissing

log = logging.getLogger(__name__)

#: Backoff for retried messages (ms): short, because long waits are data in the due index.
RETRY_MIN_BACKOFF_MS = 1_000
RETRY_MAX_BACKOFF_MS = 300_000
RETRY_MAX = 50


@dataclass(frozen=True)
class Actors:
    apply_event: dramatiq.Actor
    close_windows: dramatiq.Actor
    deliver: dramatiq.Actor
    invoice_periods: dramatiq.Actor

    def dispatch(self, member: str, lease: float) -> None:
        """Enqueue the work a claimed due member stands for."""
        kind, ident = parse_member(member)
        if kind == "window":
            self.close_windows.send(ident, lease)
        elif kind == "period":
            self.invoice_periods.send(ident, lease)
        else:
            self.deliver.send(ident, lease)


def declare_actors(broker: RedisBroker, app: App) -> Actors:
    options: dict[str, Any] = dict(
        broker=broker,
        throws=(PermanentError,),
        max_retries=RETRY_MAX,
        min_backoff=RETRY_MIN_BACKOFF_MS,
        max_backoff=RETRY_MAX_BACKOFF_MS,
    )
    lease_s = app.settings.due_lease_s

    async def send_deliveries(settled: list[invoicer.Settled]) -> None:
        # Fast path: claim the delivery's due member and hand it to a worker now, instead of
        # waiting for the scheduler's next look. If we die here the lease brings it back.
        now = app.clock().timestamp()
        for item in settled:
            lease = await app.store.claim_member(deliver_member(item.delivery_id), now, lease_s)
            if lease is not None:
                actors.deliver.send(item.delivery_id, lease)

    async def apply_event(raw: dict[str, Any]) -> None:
        try:
            members = await ingestion.apply_event(app, raw)
        except InvalidEvent as exc:
            await ingestion.dead_letter(app, raw, exc)
            return
        except PrerequisiteMissing as exc:
            # Expected with out-of-order events: retried on the usual backoff, without dramatiq's
            # error log and traceback.
            log.info("%s", exc)
            raise dramatiq.Retry(str(exc)) from None
        for member in members:
            lease = await app.store.claim_member(member, app.clock().timestamp(), lease_s)
            if lease is None:  # another worker holds it and will see this event's effect
                continue
            kind, ident = parse_member(member)
            if kind == "window":
                await send_deliveries(await invoicer.close_windows(app, ident, lease))
            else:  # e.g. `deliver:` for an email the event created: send it now
                actors.dispatch(member, lease)

    async def close_windows(order_id: str, lease: float) -> None:
        await send_deliveries(await invoicer.close_windows(app, order_id, lease))

    async def deliver(delivery_id: str, lease: float) -> None:
        await sending.deliver(app, delivery_id, lease)

    async def invoice_periods(subscription_id: str, lease: float) -> None:
        await send_deliveries(await period_invoicer.invoice_periods(app, subscription_id, lease))

    actors = Actors(
        apply_event=dramatiq.actor(apply_event, actor_name="apply_event", queue_name=EVENTS_QUEUE, **options),
        close_windows=dramatiq.actor(close_windows, actor_name="close_windows", queue_name=WINDOWS_QUEUE, **options),
        deliver=dramatiq.actor(deliver, actor_name="deliver", queue_name=DELIVERY_QUEUE, **options),
        invoice_periods=dramatiq.actor(invoice_periods, actor_name="invoice_periods", queue_name=WINDOWS_QUEUE, **options),
    )
    return actors
