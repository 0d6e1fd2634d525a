"""The heartbeat of a worker process: while work runs, what it holds stays held.

A claimed due member is hidden for `due_lease_s`, and a delivery's lock lives as long; both
come back by themselves when their worker dies. So that the lease can be short (a dead worker's
work back within a minute) while a slow send keeps its claim, every claim and lock the process
holds is renewed every `due_lease_s / 3` by one thread, in one round trip for all of them
(`DueIndex.renew`), and released from it when the work ends.

A renewal that finds a claim or lock taken by another worker (its lease ran out while this one
stalled) marks the hold `lost` and logs it: the holder may check `lost` before a write that
would go over the other worker's (the delivery lock, before a send).

    with app.leases.holding_claim(member, lease):
        ... the work ...
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from worker.store.due_index import HELD_BY_OTHER, RENEWED, LockHeld

if TYPE_CHECKING:
    from worker.services.context import ServiceContext

log = logging.getLogger(__name__)

#: Renewals per lease: at a third, two renewals can fail (a Redis blip) before anything expires.
RENEWALS_PER_LEASE = 3
#: After a failed renewal (Redis away), try again this soon (s): the first renewal once Redis
#: is back should come before another worker's scheduler sees the expired claims.
RETRY_AFTER_FAILURE_S = 0.1
#: Holds renewed per script call.
RENEW_SLICE = 500
#: A claim waiting in a queue for a worker is renewed for at most this many leases: a message
#: that never runs (lost) must not hide its members for as long as this process lives.
QUEUED_MAX_LEASES = 20


@dataclass(eq=False)
class Hold:
    """One claim (`name` a due member, `value` its lease) or lock (`name`, `value` its token)."""

    kind: Literal["claim", "lock"]
    name: str
    value: float | str
    #: A lock's guarding claim (member, lease), see `LockHeld`.
    guard: tuple[str, float] | None = None
    #: A claim handed to a queue, not yet worked on here: renewed until a worker finishes it.
    queued: bool = False
    since: float = field(default_factory=time.monotonic)
    #: A renewal found it taken by another worker.
    lost: bool = False


class Leases:
    """What one process holds, and the thread that renews it (started while anything is held)."""

    def __init__(self, app: ServiceContext) -> None:
        self.app = app
        self._held: dict[int, Hold] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the heartbeat thread is running (it is while anything is held)."""
        return self._thread is not None

    @property
    def interval_s(self) -> float:
        return self.app.policy.due_lease_s / RENEWALS_PER_LEASE

    # -- holding ---------------------------------------------------------------------------------

    def hold(self, hold: Hold) -> Hold:
        with self._lock:
            self._held[id(hold)] = hold
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="invoice-worker-leases", daemon=True)
                self._thread.start()
        return hold

    def hold_claim(self, member: str, lease: float, *, queued: bool = False) -> Hold:
        return self.hold(Hold("claim", member, lease, queued=queued))

    def hold_lock(self, name: str, token: str, *, guard: tuple[str, float] | None = None) -> Hold:
        return self.hold(Hold("lock", name, token, guard=guard))

    def release(self, *holds: Hold) -> None:
        with self._lock:
            for hold in holds:
                self._held.pop(id(hold), None)

    @contextmanager
    def holding_claim(self, member: str, lease: float) -> Iterator[Hold]:
        hold = self.hold_claim(member, lease)
        try:
            yield hold
        finally:
            self.release(hold)

    def held(self) -> list[Hold]:
        with self._lock:
            return list(self._held.values())

    def release_all(self) -> None:
        """Hold nothing more (the worker stopped): the thread ends at its next wake-up, and what
        was held comes back to the other workers when its lease runs out."""
        with self._lock:
            self._held.clear()

    # -- renewing --------------------------------------------------------------------------------

    async def renew(self, holds: list[Hold]) -> list[int]:
        """Renew `holds` now, in one round trip (on the running loop's store); returns each one's
        status (`worker.store.due_index.RENEWED` ...). Those taken by another worker are marked
        `lost` (and logged); a queued claim no longer held by its lease is let go."""
        ordered = [h for h in holds if h.kind == "claim"] + [h for h in holds if h.kind == "lock"]
        lease_s, now = self.app.policy.due_lease_s, self.app.clock().timestamp()
        # In slices, sent together (one round trip): a scheduler holding thousands of queued
        # claims does not block Redis for one long script.
        slices = [ordered[at : at + RENEW_SLICE] for at in range(0, len(ordered), RENEW_SLICE)]
        replies = await asyncio.gather(
            *(
                self.app.store.due.renew(
                    [(h.name, float(h.value)) for h in part if h.kind == "claim"],
                    [LockHeld(h.name, str(h.value), h.guard) for h in part if h.kind == "lock"],
                    lease_s=lease_s,
                    now=now,
                )
                for part in slices
            )
        )
        statuses = [status for reply in replies for status in reply]
        with self._lock:
            for hold, status in zip(ordered, statuses, strict=True):
                if id(hold) not in self._held:
                    continue  # released meanwhile: its work ended
                if hold.queued and status != RENEWED:
                    del self._held[id(hold)]  # a worker finished it, or its claim came back
                elif status == HELD_BY_OTHER and not hold.lost:
                    hold.lost = True
                    del self._held[id(hold)]
                    log.warning(
                        "%s %s was taken by another worker while this one held it (its lease ran out): "
                        "the other's result stands",
                        "due member" if hold.kind == "claim" else "lock",
                        hold.name,
                    )
        status_of = {id(h): status for h, status in zip(ordered, statuses, strict=True)}
        return [status_of[id(h)] for h in holds]

    def _due_holds(self) -> list[Hold] | None:
        """What to renew now; None (and the thread ends) when nothing is held."""
        with self._lock:
            too_old = time.monotonic() - QUEUED_MAX_LEASES * self.app.policy.due_lease_s
            for key, hold in list(self._held.items()):
                if hold.queued and hold.since < too_old:
                    del self._held[key]
            if not self._held:
                self._thread = None
                return None
            return list(self._held.values())

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        wait_s = self.interval_s  # what is held now was claimed just now
        failing = False
        try:
            while True:
                time.sleep(wait_s)
                holds = self._due_holds()
                if holds is None:
                    return
                try:
                    loop.run_until_complete(self.renew(holds))
                except Exception as exc:  # Redis away: keep trying, faster, until it is back
                    if not failing:
                        log.warning("lease heartbeat failed (%s: %s); retrying", type(exc).__name__, exc)
                    failing = True
                    wait_s = min(self.interval_s, RETRY_AFTER_FAILURE_S)
                    continue
                if failing:
                    log.warning("lease heartbeat renewing again (%d held)", len(holds))
                failing = False
                wait_s = self.interval_s
        finally:
            try:
                loop.run_until_complete(self.app.aclose())
            except Exception:  # Redis gone: nothing to close cleanly
                log.debug("lease heartbeat: closing its Redis client failed", exc_info=True)
            loop.close()
