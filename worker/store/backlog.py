"""What is waiting in Redis, for the metrics: one round trip of counts, each O(1) or O(log N)
(no scan), so that a worker can sample it every few seconds however large the store grows."""

from __future__ import annotations

import time
from dataclasses import dataclass

from worker.store.connection import Connection


@dataclass(frozen=True)
class Backlog:
    #: Members of the due index (windows, periods, deliveries, reminders, parked events), and
    #: how many of them are claimed by a worker now.
    due_members: int
    claimed: int
    #: Seconds since the oldest member not claimed fell due (0: nothing is late).
    oldest_due_age_s: float
    #: Deliveries waiting for a retry (a recipient deferred, or its outcome unknown).
    retrying: int
    #: Events waiting for what they need (their account, rewards, invoice, month's end).
    parked: int
    #: Dead letters kept (`dead-letters` lists them).
    dead_letters: int
    #: Secrets sealed out of queue messages and not yet used or expired.
    sealed: int


async def sample_backlog(db: Connection, now: float) -> Backlog:
    keys = db.keys
    pipe = db.redis.pipeline(transaction=False)
    pipe.zcard(keys.due)
    pipe.zcard(keys.leased)
    # A claimed member's score is its lease's end (in the future while it is held): the lowest
    # score in the past is work nobody holds that is late.
    pipe.zrange(keys.due, 0, 0, withscores=True)
    pipe.zcard(keys.retrying)
    pipe.scard(keys.parked_ids)
    pipe.llen(keys.dead_letters)
    # By wall time, as the index is (Redis expires the sealed keys by it), not by `now`.
    pipe.zcount(keys.sealed_index, time.time(), "+inf")
    due, claimed, oldest, retrying, parked, dead, sealed = await pipe.execute()
    oldest_at = float(oldest[0][1]) if oldest else None
    return Backlog(
        due_members=int(due),
        claimed=int(claimed),
        oldest_due_age_s=max(0.0, now - oldest_at) if oldest_at is not None else 0.0,
        retrying=int(retrying),
        parked=int(parked),
        dead_letters=int(dead),
        sealed=int(sealed),
    )
