"""The scheduler: turns due members of the due-time index into queue messages.

Every `run` process has one. Claims are atomic and leased (a claimed member is hidden for
`due_lease_s`), so many schedulers never hand out the same work twice at once, and work whose
worker died comes back when the lease runs out. Finding due members costs O(log N + due).
"""

from __future__ import annotations

import asyncio
import logging
import threading

from worker.runtime.actors import Actors
from worker.services.context import ServiceContext
from worker.store.due_members import parse_member

log = logging.getLogger(__name__)

#: Due members claimed per look.
CLAIM_BATCH = 500
#: Shortest wait between two looks (s): what falls due meanwhile is claimed, and sent, together.
MIN_LOOK_INTERVAL_S = 0.1


class Scheduler:
    def __init__(self, app: ServiceContext, actors: Actors) -> None:
        self.app = app
        self.actors = actors
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def tick(self) -> int:
        """Claim what is due and enqueue it; returns how many members were claimed."""
        now = self.app.clock().timestamp()
        claimed = await self.app.store.due.claim_due(now, self.app.policy.due_lease_s, CLAIM_BATCH)
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
                try:
                    claimed = loop.run_until_complete(self.tick())
                except Exception:  # Redis down: keep looking, the work is safe in Redis
                    log.exception("scheduler tick failed; retrying")
                    claimed = 0
                if claimed < CLAIM_BATCH:
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
        except Exception:  # Redis down: the next tick says so
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
