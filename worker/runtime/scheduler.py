"""The scheduler: turns due members of the due-time index into queue messages.

Every `run` process has one. Claims are atomic and leased (a claimed member is hidden for
`due_lease_s`), so many schedulers never hand out the same work twice at once, and work whose
worker died comes back when the lease runs out. Finding due members costs O(log N + due).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from worker.runtime.actors import Actors
from worker.services.context import ServiceContext
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.due_members import parse_member

log = logging.getLogger(__name__)

#: Due members claimed per look.
CLAIM_BATCH = 500
#: Shortest wait between two looks (s): what falls due meanwhile is claimed, and sent, together.
MIN_LOOK_INTERVAL_S = 0.1
#: While the work is paused, how often to look whether it may go on (s).
PAUSED_LOOK_INTERVAL_S = 0.2


class Scheduler:
    def __init__(self, app: ServiceContext, actors: Actors) -> None:
        self.app = app
        self.actors = actors
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the loop last went round (time.monotonic()), for /healthz.
        self.last_round: float | None = None

    async def tick(self) -> int:
        """Claim what is due and enqueue it; returns how many members were claimed. Claims
        nothing while the work is paused (outcomes held, Redis unreachable or evicting): held
        outcomes are written first, so no delivery they belong to is claimed and taken for an
        interrupted send. Never raises for a Redis fault (it is reported to the journal)."""
        journal, store = self.app.outcomes, self.app.store
        if journal.paused is not None:
            await journal.check(store)
            if journal.paused is not None:
                return 0
        now = self.app.clock().timestamp()
        try:
            claimed = await store.due.claim_due(now, self.app.policy.due_lease_s, CLAIM_BATCH)
        except REDIS_UNAVAILABLE as exc:  # if the claim went through, its lease brings it back
            journal.report_unreachable(store.where, exc)
            return 0
        try:
            return await self._dispatch(claimed)
        except REDIS_UNAVAILABLE as exc:  # what was not enqueued comes back with its lease
            journal.report_unreachable(store.where, exc)
            return 0

    async def _dispatch(self, claimed: list[tuple[str, float]]) -> int:
        known = []
        for member, lease in claimed:
            try:
                parse_member(member)
                known.append((member, lease))
            except ValueError:
                log.error("dropping unknown due member %r", member)
                await self.app.store.due.finish_due(member, lease, None)
        self.actors.dispatch_many(known)
        return len(claimed)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            while not self._stop.is_set():
                self.last_round = time.monotonic()
                try:
                    claimed = loop.run_until_complete(self.tick())
                except Exception:  # a bug (tick() takes Redis faults): keep looking, the work is safe in Redis
                    log.exception("scheduler tick failed; retrying")
                    claimed = 0
                if self.app.outcomes.paused is not None:
                    self._stop.wait(PAUSED_LOOK_INTERVAL_S)
                elif claimed < CLAIM_BATCH:
                    self._stop.wait(loop.run_until_complete(self._until_next_look()))
        finally:
            loop.run_until_complete(self.app.aclose())
            loop.close()

    async def _until_next_look(self) -> float:
        """Seconds to wait: until the next member falls due, within [MIN_LOOK_INTERVAL_S,
        scheduler_interval_s], so a window closes when due rather than at the next round look."""
        interval = self.app.policy.scheduler_interval_s
        try:
            next_at = await self.app.store.due.next_due_at()
        except Exception:  # Redis unavailable: the next tick says so
            return interval
        if next_at is None:
            return interval
        return min(interval, max(MIN_LOOK_INTERVAL_S, next_at - self.app.clock().timestamp()))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="invoice-worker-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
