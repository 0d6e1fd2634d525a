"""Run a worker process: dramatiq worker threads plus the scheduler, until stopped or, in burst
mode, until every queue is empty and nothing is due."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from dataclasses import dataclass

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker

from worker.emails.rendering import default_renderer
from worker.inbound.listener import BounceListener
from worker.runtime.actors import Actors, declare_actors
from worker.runtime.broker import make_broker, queued_messages
from worker.runtime.scheduler import Scheduler
from worker.services.bounce_settings import check_bounce_settings
from worker.services.context import ServiceContext
from worker.settings import Settings
from worker.store.store import Store

log = logging.getLogger(__name__)

#: In burst mode, how often to look whether all is done (s), and how many looks in a row must
#: agree before exiting (a message can be between two queues for a moment).
IDLE_POLL_S = 0.1
IDLE_CONFIRMATIONS = 3
#: In burst mode, the longest wait of an idle queue's consumer between two looks (ms).
BURST_IDLE_POLL_MS = 100


@dataclass
class Pipeline:
    settings: Settings
    app: ServiceContext
    broker: RedisBroker
    actors: Actors


class CloseClients(dramatiq.Middleware):
    """Close the app's Redis and SMTP connections on the actors' event loop before it stops."""

    def __init__(self, app: ServiceContext) -> None:
        self.app = app

    def before_worker_shutdown(self, broker, worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(self.app.aclose())


def make_pipeline(settings: Settings, app: ServiceContext | None = None) -> Pipeline:
    app = app or ServiceContext.from_settings(settings)
    broker = make_broker(settings)
    broker.add_middleware(CloseClients(app))
    return Pipeline(settings, app, broker, declare_actors(broker, app))


async def _check_and_count_due(settings: Settings, now: float, *, check: bool = False) -> int:
    """Members due now plus members claimed and not finished (a dead claimer's come back later)."""
    async with Store.open(settings.redis_url or "", prefix=settings.redis_prefix) as store:
        if check:
            await store.check_server()
        return await store.due.due_count(now) + await store.due.leased_count()


def check_redis(settings: Settings) -> None:
    """Raises UnsafeRedis when the server may evict keys."""
    asyncio.run(_check_and_count_due(settings, 0, check=True))


def is_idle(pipeline: Pipeline) -> bool:
    if queued_messages(pipeline.broker):
        return False
    # Work gathered for a moment after an event (EVENT_GATHER_S) counts as due already.
    horizon = pipeline.app.clock().timestamp() + pipeline.app.policy.event_gather_s
    return asyncio.run(_check_and_count_due(pipeline.settings, horizon)) == 0


def run(
    pipeline: Pipeline,
    *,
    burst: bool = False,
    stop: threading.Event | None = None,
    timeout_s: float | None = None,
    handle_signals: bool = False,
) -> None:
    """Consume and deliver until `stop` is set (or a signal arrives), or in burst mode until idle.

    Raises:
      TimeoutError: burst mode did not finish within `timeout_s`.
    """
    settings = pipeline.settings
    check_redis(settings)
    check_bounce_settings(settings)
    listener = (
        BounceListener(pipeline.app, host=settings.bounces_host, port=settings.bounces_port)
        if settings.bounces_port is not None
        else None
    )
    stop = stop or threading.Event()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    if not burst:
        # A long-running worker compiles every template once before it takes work, so the
        # first emails of each (kind, locale) do not pay for it.
        default_renderer().warm()
    # A burst run drains and exits: it looks at its quiet queues often, to notice the end soon.
    poll_ms = min(settings.queue_idle_poll_ms, BURST_IDLE_POLL_MS) if burst else settings.queue_idle_poll_ms
    worker = dramatiq.Worker(pipeline.broker, worker_threads=settings.worker_threads, worker_timeout=poll_ms)
    scheduler = Scheduler(pipeline.app, pipeline.actors)
    worker.start()
    scheduler.start()
    if listener is not None:
        listener.start()
    started = time.monotonic()
    try:
        if not burst:
            stop.wait()
            return
        confirmations = 0
        while not stop.is_set():
            confirmations = confirmations + 1 if is_idle(pipeline) else 0
            if confirmations >= IDLE_CONFIRMATIONS:
                return
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                raise TimeoutError(f"burst run not idle after {timeout_s} s")
            stop.wait(IDLE_POLL_S)
    finally:
        if listener is not None:
            listener.stop()
        scheduler.stop()
        worker.stop()
