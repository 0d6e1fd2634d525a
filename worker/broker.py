"""The dramatiq broker: Redis, with the AsyncIO middleware for the async actors."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from settings import Settings

#: Queue names, one per kind of work, so a flood of one kind cannot starve another.
EVENTS_QUEUE = "events"
WINDOWS_QUEUE = "windows"
DELIVERY_QUEUE = "deliveries"


def make_broker(settings: Settings) -> RedisBroker:
    assert settings.redis_url, "redis_url must be resolved before the broker is made"
    broker = RedisBroker(
        url=settings.redis_url,
        namespace=f"{settings.redis_prefix}:dramatiq",
        heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
    )
    broker.add_middleware(AsyncIO())
    return broker


def queued_messages(broker: RedisBroker) -> int:
    """Messages enqueued, delayed or in flight on any declared queue, across all workers."""
    return sum(broker.do_qsize(queue) for queue in broker.get_declared_queues())
