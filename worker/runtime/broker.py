"""The dramatiq broker: Redis, with the AsyncIO middleware for the async actors."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from worker.settings import Settings

#: Queue names, one per kind of work, so a flood of events cannot starve what is due (windows
#: to close, periods to invoice, deliveries and their retries, parked events).
EVENTS_QUEUE = "events"
WINDOWS_QUEUE = "windows"


class InvoiceBroker(RedisBroker):
    """The Redis broker, with queue maintenance on every size check.

    Maintenance is what returns the unacknowledged messages of a dead worker to their queue.
    dramatiq runs it on a random 0.1% of commands; a burst run that waits for the queues to empty
    asks their size often, so doing it then lets a crashed worker's messages come back at once.
    """

    def _should_do_maintenance(self, command: str) -> int:
        return 1 if command == "qsize" else super()._should_do_maintenance(command)


def make_broker(settings: Settings) -> RedisBroker:
    assert settings.redis_url, "redis_url must be resolved before the broker is made"
    broker = InvoiceBroker(
        url=settings.redis_url,
        namespace=f"{settings.redis_prefix}:dramatiq",
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
    )
    broker.add_middleware(AsyncIO())
    return broker


def queued_messages(broker: RedisBroker) -> int:
    """Messages enqueued, delayed or in flight on any declared queue, across all workers."""
    return sum(broker.do_qsize(queue) for queue in broker.get_declared_queues())
