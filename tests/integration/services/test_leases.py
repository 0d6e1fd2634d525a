"""The process's heartbeat (services/leases.py) against a real Redis: what a worker holds is
renewed in one call; a claim another worker took after it ran out is marked lost and logged; a
claim waiting in a queue is let go once a worker takes it over; nothing held, the thread ends."""

from __future__ import annotations

import asyncio
import logging
import time

from tests.support.harness import make_settings
from worker.services.context import ServiceContext
from worker.store.due_index import HELD_BY_OTHER, RENEWED

MEMBER = "window:O-1"


def test_a_claim_taken_by_another_worker_is_marked_lost_and_logged_and_a_queued_one_let_go(
    redis_url, redis_client, caplog
):
    caplog.set_level(logging.WARNING)
    app = ServiceContext.from_settings(make_settings(redis_url, 2525, due_lease_s=10.0))

    async def scenario() -> tuple:
        now = time.time()
        store = app.store
        await store.due.mark_due(MEMBER, now)
        await store.due.mark_due("window:O-2", now)
        held_lease = await store.due.claim_member(MEMBER, now, 10)
        queued_lease = await store.due.claim_member("window:O-2", now, 10)
        assert held_lease is not None and queued_lease is not None
        # Given this worker holds one claim for its work and one for a message in a queue
        held = app.leases.hold_claim(MEMBER, held_lease)
        queued = app.leases.hold_claim("window:O-2", queued_lease, queued=True)
        first = await app.leases.renew([held, queued])
        # When another worker claims the first after it ran out (this one stalled), and a
        # worker takes the queued one over as it starts on its message
        assert await store.due.claim_member(MEMBER, now + 60, 10) is not None
        [taken] = await store.due.take_claims([("window:O-2", queued_lease)], now=now, lease_s=10)
        assert taken is not None
        second = await app.leases.renew([held, queued])
        await app.aclose()
        return first, second, held.lost, queued.lost, app.leases.held()

    first, second, held_lost, queued_lost, still_held = asyncio.run(scenario())
    # Then both were renewed while theirs, then the taken one is lost and said so, and neither
    # is renewed again
    assert first == [RENEWED, RENEWED]
    assert second == [HELD_BY_OTHER, HELD_BY_OTHER]
    assert held_lost and not queued_lost and still_held == []
    [warning] = [r.getMessage() for r in caplog.records if "taken by another worker" in r.getMessage()]
    assert "due member window:O-1" in warning


def test_the_heartbeat_thread_renews_what_is_held_and_ends_when_nothing_is(redis_url, redis_client):
    # Given a 1 s lease (renewed every third of a second) and a claim held for 2.5 s
    app = ServiceContext.from_settings(make_settings(redis_url, 2525, due_lease_s=1.0))

    async def claim() -> float:
        now = time.time()
        await app.store.due.mark_due(MEMBER, now)
        lease = await app.store.due.claim_member(MEMBER, now, 1.0)
        await app.aclose()
        assert lease is not None
        return lease

    lease = asyncio.run(claim())
    with app.leases.holding_claim(MEMBER, lease):
        time.sleep(2.5)
        # Then it is still hidden from the schedulers, due a lease from now
        assert redis_client.zscore("iw:due", MEMBER) > time.time()
        assert app.leases.running
    # And once released, the thread ends at its next wake-up
    time.sleep(1.0)
    assert not app.leases.running
