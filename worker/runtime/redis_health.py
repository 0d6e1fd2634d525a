"""A worker process through Redis faults: it watches the server, holds its work while Redis is
out of reach, stalled or may evict keys, and says so once instead of a traceback per command.

- `RedisWatch`: a thread that looks at the server every `redis_check_interval_s` (one
  `CONFIG GET maxmemory-policy`, which also tells whether it answers) and writes held outcomes
  (`worker.services.outcomes`) as soon as Redis takes them.
- `HoldWhilePaused`: dramatiq middleware; a worker thread takes no message while the work is
  paused, and a message that failed because Redis was unavailable waits for Redis before
  dramatiq's retry re-enqueues it (else the re-enqueue fails too, and the message is dropped).
- `OutageLogFilter`: folds the log records that dramatiq and the actors write about an
  unavailable Redis into the journal's one WARNING per outage.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.errors import BrokerConnectionError

from worker.services.context import ServiceContext
from worker.services.outcomes import OutcomeJournal
from worker.store.connection import REDIS_UNAVAILABLE

log = logging.getLogger(__name__)

#: How often a worker thread held back by a pause looks again (s).
HOLD_POLL_S = 0.05
#: Loggers whose records about an unavailable Redis are folded into the outage warning: the
#: dramatiq ones (consumers, worker threads, broker, middleware) and the actors'.
OUTAGE_LOGGER_PREFIXES = ("dramatiq", "worker.runtime.actors")
#: What dramatiq logs (without an exception attached) when it cannot reach Redis.
_DRAMATIQ_OUTAGE_MESSAGES = ("Consumer encountered a connection error", "Failed to post_process_message")

_UNAVAILABLE = (*REDIS_UNAVAILABLE, BrokerConnectionError)


def is_redis_outage(exc: BaseException | None) -> bool:
    """Whether `exc` (or what it was raised from) says Redis was unavailable."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, _UNAVAILABLE):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class RedisWatch:
    """Looks at Redis every `interval_s` on its own thread and event loop (see module doc)."""

    def __init__(self, app: ServiceContext, interval_s: float) -> None:
        self.app = app
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the loop last went round (time.monotonic()), for /healthz.
        self.last_round: float | None = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stop.is_set():
                self.last_round = time.monotonic()
                try:
                    loop.run_until_complete(self._check())
                except Exception:  # a bug, not a Redis fault (check() takes those): keep watching
                    log.exception("Redis check failed")
                self._stop.wait(self.interval_s)
        finally:
            loop.run_until_complete(self.app.aclose())
            loop.close()

    async def _check(self) -> None:
        app, journal = self.app, self.app.outcomes
        await journal.check(app.store)  # the store of this thread's loop
        app.metrics.redis_up.set(0 if journal.unreachable or journal.evicting else 1)
        if journal.unreachable:
            return
        try:
            backlog = await app.store.backlog(app.clock().timestamp())
        except REDIS_UNAVAILABLE as exc:
            journal.report_unreachable(app.store.where, exc)
            return
        app.metrics.record_backlog(backlog, at=time.time())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="invoice-worker-redis-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class HoldWhilePaused(dramatiq.Middleware):
    """A worker thread takes no message while the work is paused (see module doc)."""

    def __init__(self, journal: OutcomeJournal, where: str) -> None:
        self.journal = journal
        self.where = where
        #: Set when the process stops: a held thread lets its message go (it is redelivered).
        self.stopping = threading.Event()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        while self.journal.paused is not None and not self.stopping.wait(HOLD_POLL_S):
            pass

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        # Runs before dramatiq's Retries (after-hooks run in reverse order of the middleware).
        if not is_redis_outage(exception):
            return
        assert exception is not None
        self.journal.report_unreachable(self.where, exception)
        while self.journal.unreachable and not self.stopping.wait(HOLD_POLL_S):
            pass

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stopping.set()


class OutageLogFilter(logging.Filter):
    """Drops records about an unavailable Redis (an exception attached or passed as an argument,
    or dramatiq's connection-error lines) and reports the outage to the journal instead, which
    says it once."""

    def __init__(self, journal: OutcomeJournal, where: str) -> None:
        super().__init__()
        self.journal = journal
        self.where = where

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and isinstance(record.args, tuple):
            exc = next((a for a in record.args if isinstance(a, BaseException)), None)
        if is_redis_outage(exc):
            assert exc is not None
            self.journal.report_unreachable(self.where, exc)
            return False
        return not (isinstance(record.msg, str) and record.msg.startswith(_DRAMATIQ_OUTAGE_MESSAGES))

    def install(self) -> list[logging.Logger]:
        """Add the filter to the outage loggers that exist now (dramatiq makes its loggers with
        the worker's threads: install after the worker started); returns them for `remove`."""
        names = [name for name in logging.root.manager.loggerDict if name.startswith(OUTAGE_LOGGER_PREFIXES)]
        loggers = [logging.getLogger(name) for name in (*names, *OUTAGE_LOGGER_PREFIXES)]
        for logger in loggers:
            logger.addFilter(self)
        return loggers

    def remove(self, loggers: list[logging.Logger]) -> None:
        for logger in loggers:
            logger.removeFilter(self)
