"""The backlog the metrics sample from Redis (`Store.backlog`): what is due and late, waiting for
a retry, parked, dead-lettered and sealed, each counted without a scan and kept as the work
moves (parked then woken, sealed then used, retried then done)."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime

from tests.support.sealing import TEST_SEALING_KEY
from worker.domain.delivery import Outcome, RecipientState
from worker.store.backlog import Backlog
from worker.store.cipher import SealingKeys
from worker.store.keys import Keys
from worker.store.sealer import Sealer
from worker.store.store import Store

KEYS = SealingKeys(base64.b64decode(TEST_SEALING_KEY))


def backlog(redis_url: str, now: float) -> Backlog:
    async def sample() -> Backlog:
        async with Store.open(redis_url) as store:
            return await store.backlog(now)

    return asyncio.run(sample())


def test_the_backlog_follows_parked_sealed_retried_and_dead_lettered_work(redis_url, redis_client) -> None:
    now = time.time()

    async def given() -> str:
        async with Store.open(redis_url, sealing=KEYS) as store:
            # an event parked (waiting for its account), a secret sealed by the async store,
            # a dead letter, a window due 90 s ago, and a delivery whose retry waits
            await store.events.park_event("pay-1", "A-1", {"id": "pay-1"}, now + 60)
            token = await store.events.seal("RWD-1", ttl_s=600)
            await store.events.dead_letter(
                key="k1",
                event_id="bad-1",
                event_type="order.booked",
                field="data",
                reason="x",
                event={},
                at=datetime.now(UTC),
            )
            await store.due.mark_due("window:O-1", now - 90)
            await store.deliveries.close_delivery(
                "invoice:INV-1",
                "token",
                states={"ar@acme.example": RecipientState("ar@acme.example", "cc", Outcome.DEFERRED)},
                log=None,
                lease=0.0,
                next_at=now + 300,
            )
            return token

    token = asyncio.run(given())
    # and a second secret sealed by ingest's synchronous sealer
    sealer = Sealer(redis_url, Keys("iw"), ttl_s=600, sealing=KEYS)
    sealer.seal("RWD-2")
    sealer.close()

    # Then the backlog counts each, and the late window's age
    seen = backlog(redis_url, now)
    assert (seen.parked, seen.sealed, seen.dead_letters, seen.retrying) == (1, 2, 1, 1)
    assert 89 <= seen.oldest_due_age_s <= 91
    # (the delivery was never claimed here, so its close sets no due time: two members)
    assert seen.due_members == 2  # the parked event and the window

    async def then() -> None:
        async with Store.open(redis_url, sealing=KEYS) as store:
            await store.events.unpark_event("pay-1", "A-1")
            await store.events.forget_sealed(token)
            await store.deliveries.close_delivery(
                "invoice:INV-1",
                "token-2",
                states={"ar@acme.example": RecipientState("ar@acme.example", "cc", Outcome.ACCEPTED)},
                log=None,
                lease=0.0,
                next_at=None,
            )

    # When the parked event is applied, a secret used and the retry succeeds
    asyncio.run(then())
    after = backlog(redis_url, now)
    # Then each count goes down
    assert (after.parked, after.sealed, after.retrying) == (0, 1, 0)
    # And a secret past its expiry is not counted: by wall time, as Redis expires it, whatever
    # clock the worker is given
    short = Sealer(redis_url, Keys("iw"), ttl_s=0.05, sealing=KEYS)
    short.seal("RWD-3")
    short.close()
    time.sleep(0.1)
    assert backlog(redis_url, now + 3600).sealed == 1


def test_nothing_late_is_an_age_of_zero(redis_url, redis_client) -> None:
    now = time.time()

    async def given() -> None:
        async with Store.open(redis_url) as store:
            await store.due.mark_due("window:O-2", now + 3600)

    asyncio.run(given())
    assert backlog(redis_url, now).oldest_due_age_s == 0
    assert backlog(redis_url, now).due_members == 1
