"""SMTP outcomes whose write to Redis failed, held in the process and written again until Redis
takes them; and whether this process may claim or send anything new meanwhile.

Why: a recipient whose state is still `sending` when someone next opens its delivery is taken
for an attempt that died mid-send (`interrupted`: outcome unknown) and is sent again. An outcome
dropped because Redis was down, restarting or stalled when it was written would so become a
second copy of an email the relay already accepted. Held here, it is written before this process
claims or sends anything else, and the delivery's lock (and its claim) stay with this process
until then; across processes that holds while the outage is shorter than the lease (README,
"Delivery guarantees").

`OutcomeJournal` is one per process (the `ServiceContext` carries it), shared by the threads
and event loops of the process: every method may be called from any of them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from worker.domain.delivery import RecipientState
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.store import SAFE_MAXMEMORY_POLICIES, Store, unsafe_policy_message

log = logging.getLogger(__name__)

#: First wait before held outcomes are written again (s); it doubles up to the maximum.
DEFAULT_RETRY_FIRST_S = 0.2
DEFAULT_RETRY_MAX_S = 1.0
#: After an outage, how long this process waits before it claims or sends anything (s), so the
#: outcomes other processes held through the same outage land first (see `OutcomeJournal`).
DEFAULT_RECOVERY_GRACE_S = 3.0


@dataclass(frozen=True)
class HeldOutcome:
    """One attempt's outcome as `Deliveries.close_delivery` writes it: the recipients' states,
    the attempt's log entry, the delivery's next due time (None: done), and the lock and lease
    to release. `then` runs once it is written (e.g. forget the secrets of a finished delivery)."""

    delivery_id: str
    token: str
    states: dict[str, RecipientState]
    log: dict[str, Any] | None
    lease: float
    next_at: float | None
    then: Callable[[Store], Awaitable[None]] | None = field(default=None, compare=False)


class OutcomeJournal:
    """Held outcomes, and what pauses this process's work: outcomes not written yet, a Redis out
    of reach, a Redis whose eviction policy may drop keys, and the grace after an outage. Says
    each change once in the log.

    The grace: after an outage longer than the lease, a claim of another process may have run
    out, so its delivery can be claimed here at once; if that process still holds the outcome of
    its send, this one would find the recipients `sending` and send again. Every process that
    saw the outage waits `recovery_grace_s` once Redis is back, while each writes what it holds.
    """

    def __init__(
        self,
        *,
        retry_first_s: float = DEFAULT_RETRY_FIRST_S,
        retry_max_s: float = DEFAULT_RETRY_MAX_S,
        recovery_grace_s: float = DEFAULT_RECOVERY_GRACE_S,
    ) -> None:
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.recovery_grace_s = recovery_grace_s
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._held: dict[int, HeldOutcome] = {}
        self._writing: set[int] = set()  # being written by one caller: the others leave them be
        self._unreachable = False
        self._evicting: str | None = None  # the unsafe policy, while it is set
        self._announced = False  # the outage's WARNING was said, its end not yet
        self._grace_until = 0.0  # time.monotonic() when the grace after an outage ends
        self._written_in_outage = 0

    # -- what holds work back ----------------------------------------------------------------

    @property
    def held(self) -> int:
        """Outcomes not written to Redis yet."""
        with self._lock:
            return len(self._held)

    def held_outcomes(self) -> list[HeldOutcome]:
        with self._lock:
            return list(self._held.values())

    @property
    def paused(self) -> str | None:
        """Why this process must not claim or send anything new now, or None."""
        with self._lock:
            if self._evicting is not None:
                return unsafe_policy_message(self._evicting)
            if self._unreachable:
                return "Redis unreachable"
            if self._held:
                return f"{len(self._held)} outcomes not written to Redis yet"
            if time.monotonic() < self._grace_until:
                return "Redis back: other workers' held outcomes go first"
            return None

    @property
    def unreachable(self) -> bool:
        with self._lock:
            return self._unreachable

    @property
    def evicting(self) -> str | None:
        """The unsafe eviction policy Redis was last seen with, or None."""
        with self._lock:
            return self._evicting

    # -- writing -----------------------------------------------------------------------------

    async def write(self, store: Store, outcome: HeldOutcome) -> bool:
        """Write one attempt's outcome; when Redis does not take it, hold it (written later by
        `write_held`). Returns whether it was written now. Never raises for a Redis fault."""
        try:
            await _close(store, outcome)
        except BaseException as exc:  # a cancelled write may have been lost too: keep it
            with self._lock:
                self._held[next(self._ids)] = outcome
            if isinstance(exc, Exception):
                self.report_unreachable(store.where, exc)
                return False
            raise
        await _then(store, outcome)
        return True

    async def write_held(self, store: Store) -> bool:
        """One try at writing every held outcome (those another caller is writing excepted).
        Returns whether none is held any more."""
        with self._lock:
            mine = {n: o for n, o in self._held.items() if n not in self._writing}
            self._writing.update(mine)
        if mine:
            results = await asyncio.gather(*(_close(store, o) for o in mine.values()), return_exceptions=True)
            written = [n for n, result in zip(mine, results, strict=True) if result is None]
            with self._lock:
                for n in written:
                    del self._held[n]
                self._writing.difference_update(mine)
                self._written_in_outage += len(written)
            for n in written:
                await _then(store, mine[n])
            failed = next((r for r in results if isinstance(r, BaseException)), None)
            if failed is not None:
                if not isinstance(failed, Exception):
                    raise failed
                self.report_unreachable(store.where, failed)
                return False
        self._say_if_resumed(store.where)
        return self.held == 0

    async def check(self, store: Store) -> None:
        """Write what is held, then look at the server (does it answer? may it evict keys?),
        and say what changed. One cheap round trip when all is well. Never raises for a Redis
        fault."""
        if not await self.write_held(store):
            return
        try:
            policy = await store.eviction_policy()
        except REDIS_UNAVAILABLE as exc:
            self.report_unreachable(store.where, exc)
            return
        self.report_policy(store.where, policy)
        self.report_reachable(store.where)

    async def wait_until_clear(self, store: Store, stop: threading.Event | None = None) -> None:
        """Return once nothing holds work back (at once, with no round trip, when nothing does):
        held outcomes written, Redis answering, its policy safe. Tries again with backoff."""
        delay = self.retry_first_s
        while self.paused is not None and not (stop is not None and stop.is_set()):
            await self.check(store)
            if self.paused is None:
                return
            grace_left = self._grace_until - time.monotonic()
            await asyncio.sleep(min(delay, grace_left) if grace_left > 0 else delay)
            delay = min(self.retry_max_s, delay * 2)

    # -- what the log says -------------------------------------------------------------------

    def report_unreachable(self, where: str, exc: BaseException) -> None:
        """Redis did not answer (or refused a write): once per outage, a WARNING."""
        with self._lock:
            self._unreachable = True
            if self._announced:
                return
            self._announced = True
            self._written_in_outage = 0
            held = len(self._held)
        log.warning("Redis unreachable at %s (%s): holding %d outcomes, sending paused", where, _reason(exc), held)

    def report_reachable(self, where: str) -> None:
        with self._lock:
            if self._unreachable:
                self._grace_until = time.monotonic() + self.recovery_grace_s
            self._unreachable = False
        self._say_if_resumed(where)

    def report_policy(self, where: str, policy: str) -> None:
        """An unsafe eviction policy pauses the work (an ERROR, once); a safe one resumes it."""
        safe = policy in SAFE_MAXMEMORY_POLICIES
        with self._lock:
            was = self._evicting
            self._evicting = None if safe else policy
        if not safe and was != policy:
            log.error("%s (at %s): work paused until it is back", unsafe_policy_message(policy), where)
        elif safe and was is not None:
            log.info("Redis maxmemory-policy at %s is %s again: work resumed", where, policy)

    def _say_if_resumed(self, where: str) -> None:
        with self._lock:
            if not self._announced or self._unreachable or self._held:
                return
            self._announced = False
            written = self._written_in_outage
        log.info("Redis reachable again at %s: %d held outcomes written, sending resumed", where, written)


async def _close(store: Store, outcome: HeldOutcome) -> None:
    await store.deliveries.close_delivery(
        outcome.delivery_id,
        outcome.token,
        states=outcome.states,
        log=outcome.log,
        lease=outcome.lease,
        next_at=outcome.next_at,
    )


async def _then(store: Store, outcome: HeldOutcome) -> None:
    if outcome.then is None:
        return
    try:
        await outcome.then(store)
    except Exception as exc:  # the outcome is written; what follows is housekeeping
        log.warning("delivery %s: after its outcome was written: %s", outcome.delivery_id, _reason(exc))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
