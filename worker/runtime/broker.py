"""The dramatiq broker: Redis, with the AsyncIO middleware for the async actors."""

from __future__ import annotations

from typing import Any

import redis
import redis.exceptions
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import AsyncIO
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from worker.settings import Settings
from worker.store.store import STALE_RETRIES, STALE_RETRY_BASE_S, STALE_RETRY_CAP_S

#: Queue names, one per kind of work, so a flood of events cannot starve what is due (windows
#: to close, periods to invoice, deliveries and their retries, parked events).
EVENTS_QUEUE = "events"
WINDOWS_QUEUE = "windows"


def sync_stale_connection_retry() -> Retry:
    """`worker.store.store.stale_connection_retry`, for the broker's synchronous client."""
    return Retry(
        ExponentialBackoff(cap=STALE_RETRY_CAP_S, base=STALE_RETRY_BASE_S),
        STALE_RETRIES,
        (redis.exceptions.ConnectionError,),
    )


class StallTolerantConsumer(_RedisConsumer):
    """dramatiq's Redis consumer, taking a stalled Redis (a socket timeout) as it takes a dropped
    connection: it reconnects quietly instead of logging an "unexpected error" with a traceback,
    and an ack it could not send is tried again until Redis answers."""

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except redis.exceptions.TimeoutError as exc:
            raise ConnectionClosed(exc) from None

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)
        except redis.exceptions.TimeoutError as exc:
            raise ConnectionClosed(exc) from None

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)
        except redis.exceptions.TimeoutError as exc:
            raise ConnectionClosed(exc) from None


class InvoiceBroker(RedisBroker):
    """The Redis broker, with queue maintenance on every size check.

    Maintenance is what returns the unacknowledged messages of a dead worker to their queue.
    dramatiq runs it on a random 0.1% of commands; a burst run that waits for the queues to empty
    asks their size often, so doing it then lets a crashed worker's messages come back at once.
    """

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return StallTolerantConsumer

    def _should_do_maintenance(self, command: str) -> int:
        return 1 if command == "qsize" else super()._should_do_maintenance(command)


def make_broker(settings: Settings) -> RedisBroker:
    assert settings.redis_url, "redis_url must be resolved before the broker is made"
    # A pooled connection that a Redis restart closed is replaced at its next command, not
    # reported as an error (see Store.from_url).
    pool = redis.ConnectionPool.from_url(settings.redis_url, retry=sync_stale_connection_retry())
    broker = InvoiceBroker(
        client=redis.Redis(connection_pool=pool),
        namespace=f"{settings.redis_prefix}:dramatiq",
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
    )
    broker.add_middleware(AsyncIO())
    return broker


def queued_messages(broker: RedisBroker) -> int:
    """Messages enqueued, delayed or in flight on any declared queue, across all workers."""
    return sum(broker.do_qsize(queue) for queue in broker.get_declared_queues())
