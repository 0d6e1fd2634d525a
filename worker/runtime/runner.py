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
from worker.runtime.dramatiq_metrics import DramatiqMetrics
from worker.runtime.probes import Probes, ProbeServer
from worker.runtime.redis_health import HoldWhilePaused, OutageLogFilter, RedisWatch
from worker.runtime.scheduler import Scheduler
from worker.services import retention
from worker.services.bounce_settings import check_bounce_settings
from worker.services.context import ServiceContext
from worker.services.outcomes import OutcomeJournal
from worker.settings import Settings
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.redis_urls import mask_url
from worker.store.store import Store

log = logging.getLogger(__name__)

#: In burst mode, how often to look whether all is done (s), and how many looks in a row must
#: agree before exiting (a message can be between two queues for a moment).
IDLE_POLL_S = 0.1
IDLE_CONFIRMATIONS = 3
#: In burst mode, the longest wait of an idle queue's consumer between two looks (ms).
BURST_IDLE_POLL_MS = 100
#: On stop, how long to keep trying to write outcomes held through a Redis outage (s).
STOP_FLUSH_S = 10.0


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
    broker.add_middleware(DramatiqMetrics(app.metrics.registry))
    broker.add_middleware(CloseClients(app))
    # Added last, so that its after-hook runs before dramatiq's Retries re-enqueues a message.
    broker.add_middleware(HoldWhilePaused(app.outcomes, mask_url(settings.redis_url or "")))
    return Pipeline(settings, app, broker, declare_actors(broker, app))


async def _check_and_count_due(settings: Settings, now: float, *, check: bool = False) -> int:
    """Members due now plus members claimed and not finished (a dead claimer's come back later)."""
    async with Store.open(settings.redis_url or "", prefix=settings.redis_prefix) as store:
        if check:
            await store.check_server()
        return await store.due.due_count(now) + await store.due.leased_count()


def check_redis(settings: Settings, journal: OutcomeJournal | None = None, stop: threading.Event | None = None) -> None:
    """Wait until Redis answers (saying so once, through `journal`), then refuse it if it may
    evict keys.

    Raises:
      UnsafeRedis: the server may evict keys.
    """
    journal = journal or OutcomeJournal()
    where = mask_url(settings.redis_url or "")
    delay = journal.retry_first_s
    while True:
        try:
            asyncio.run(_check_and_count_due(settings, 0, check=True))
        except REDIS_UNAVAILABLE as exc:
            journal.report_unreachable(where, exc)
            if stop is not None and stop.wait(delay):
                return
            if stop is None:
                time.sleep(delay)
            delay = min(journal.retry_max_s, delay * 2)
            continue
        journal.report_reachable(where)
        return


def is_idle(pipeline: Pipeline) -> bool:
    """Whether every queue is empty and nothing is due or claimed. Not idle while the work is
    paused (outcomes held, Redis unreachable or evicting) nor when Redis does not answer."""
    journal = pipeline.app.outcomes
    if journal.paused is not None:
        return False
    where = mask_url(pipeline.settings.redis_url or "")
    try:
        if queued_messages(pipeline.broker):
            return False
        # Work gathered for a moment after an event (EVENT_GATHER_S) counts as due already.
        horizon = pipeline.app.clock().timestamp() + pipeline.app.policy.event_gather_s
        return asyncio.run(_check_and_count_due(pipeline.settings, horizon)) == 0
    except REDIS_UNAVAILABLE as exc:
        journal.report_unreachable(where, exc)
        return False


def start_probes(app: ServiceContext, settings: Settings, *, scheduler: Scheduler, watch: RedisWatch) -> ProbeServer:
    """Serve /metrics, /healthz and /readyz on METRICS_PORT (worker.runtime.probes).

    Raises:
      MetricsPortInUse: the port is taken.
      MetricsUnavailable: it cannot listen there for another reason (METRICS_HOST not of this machine).
    """
    assert settings.metrics_port is not None
    idle, busy = app.metrics.smtp_connections.labels("idle"), app.metrics.smtp_connections.labels("busy")

    def before_scrape() -> None:  # what only this process knows, read when scraped
        pool = app.smtp_connections()
        idle.set(pool[0])
        busy.set(pool[1])
        app.metrics.held_outcomes.set(app.outcomes.held)

    loops = {"scheduler": lambda: scheduler.last_round, "redis_watch": lambda: watch.last_round}
    server = ProbeServer(
        app,
        Probes(app, loops, stall_s=settings.health_stall_s),
        host=settings.metrics_host,
        port=settings.metrics_port,
        before_scrape=before_scrape,
    )
    server.start()
    return server


def _sweep_retention(app: ServiceContext, stop: threading.Event) -> None:
    async def sweep() -> None:
        try:
            await retention.sweep(app, stop)
        finally:
            await app.aclose()

    try:
        asyncio.run(sweep())
    except REDIS_UNAVAILABLE as exc:  # the next start sweeps (the marker is set at the end)
        log.warning("retention sweep stopped: Redis unavailable (%s); the next start goes on", type(exc).__name__)
    except Exception:
        log.exception("retention sweep failed; the next start tries again")


def _write_held_before_exit(app: ServiceContext) -> None:
    """Give outcomes held through an outage a last chance to land; name those that do not (their
    recipients stay `sending`, and are sent again when their lease runs out)."""
    journal = app.outcomes
    if not journal.held:
        return

    async def write() -> None:
        try:
            await asyncio.wait_for(journal.wait_until_clear(app.store), STOP_FLUSH_S)
        except TimeoutError:
            pass
        finally:
            await app.aclose()

    asyncio.run(write())
    for outcome in journal.held_outcomes():
        log.error(
            "delivery %s: outcome not written to Redis before exit (%s); "
            "it will be sent again to %s when its lease runs out",
            outcome.delivery_id,
            ", ".join(f"{a}: {s.state}" for a, s in outcome.states.items()) or "no recipient attempted",
            ", ".join(outcome.states) or "nobody",
        )


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
    stop = stop or threading.Event()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    check_redis(settings, pipeline.app.outcomes, stop)
    if stop.is_set():
        return
    check_bounce_settings(settings)
    listener = (
        BounceListener(pipeline.app, host=settings.bounces_host, port=settings.bounces_port)
        if settings.bounces_port is not None
        else None
    )
    # A burst run drains and exits: it looks at its quiet queues often, to notice the end soon.
    poll_ms = min(settings.queue_idle_poll_ms, BURST_IDLE_POLL_MS) if burst else settings.queue_idle_poll_ms
    worker = dramatiq.Worker(pipeline.broker, worker_threads=settings.worker_threads, worker_timeout=poll_ms)
    scheduler = Scheduler(pipeline.app, pipeline.actors)
    watch = RedisWatch(pipeline.app, settings.redis_check_interval_s)
    probes = (
        start_probes(pipeline.app, settings, scheduler=scheduler, watch=watch)
        if settings.metrics_port is not None
        else None
    )
    if listener is not None:
        try:  # a BOUNCES_PORT taken: nothing else started yet but the probes
            listener.start()
        except BaseException:
            if probes is not None:
                probes.stop()
            raise
    worker.start()
    sweeper = None
    if not burst:
        # A long-running worker compiles every template (9 kinds x 37 locales: ~8 s of CPU) in
        # the background once it takes work, so that the first emails of each (kind, locale)
        # do not pay for it and start-up does not wait for it (the renderer's lock makes a
        # render that needs a template wait for one compile at most).
        threading.Thread(target=default_renderer().warm, name="warm-templates", daemon=True).start()
        # Once per installation: deliveries that finished before retention existed get theirs.
        sweeper = threading.Thread(
            target=_sweep_retention, args=(pipeline.app, stop), name="retention-sweep", daemon=True
        )
        sweeper.start()
    outage_filter = OutageLogFilter(pipeline.app.outcomes, mask_url(settings.redis_url or ""))
    filtered = outage_filter.install()
    watch.start()
    scheduler.start()
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
        if sweeper is not None:
            sweeper.join(timeout=10)  # it stops at its next page once `stop` is set
        if probes is not None:
            probes.stop()
        if listener is not None:
            listener.stop()
        scheduler.stop()
        worker.stop()
        watch.stop()
        _write_held_before_exit(pipeline.app)
        outage_filter.remove(filtered)
