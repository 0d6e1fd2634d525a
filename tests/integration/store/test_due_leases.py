"""Claims of due members and locks, renewed by a heartbeat, taken over, failed and finished, on a
real Redis: a renewal keeps the claim's name (its first lease) so that finishing it still works,
and keeps an earlier re-mark; a claim taken by another worker after a real expiry is said so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from worker.store.due_index import HELD_BY_NONE, HELD_BY_OTHER, RENEWED, LockHeld
from worker.store.store import Store

NOW = 1_800_000_000.0
MEMBER = "window:O-1"


def scenario(redis_url: str, body: Callable[[Store], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with Store.open(redis_url, prefix="leases-test") as store:
            return await body(store)

    return asyncio.run(run())


def test_a_renewed_claim_stays_hidden_past_its_first_end_and_is_finished_by_the_lease_it_was_claimed_with(
    redis_url, redis_client
):
    async def body(store: Store) -> tuple:
        # Given a member claimed for 10 s
        await store.due.mark_due(MEMBER, NOW)
        lease = await store.due.claim_member(MEMBER, NOW, 10)
        assert lease is not None
        # When its heartbeat renews it 8 s later, for 10 s more
        renewed = await store.due.renew([(MEMBER, lease)], [], lease_s=10, now=NOW + 8)
        # Then no scheduler claims it after its first lease ran out
        claimed_late = await store.due.claim_due(NOW + 12, 10)
        # And its holder still finishes it with the lease it got at first
        finished = await store.due.finish_due(MEMBER, lease, None)
        return renewed, claimed_late, finished, await store.due.due_score(MEMBER), await store.due.leased_count()

    renewed, claimed_late, finished, score, leased = scenario(redis_url, body)
    assert renewed == [RENEWED]
    assert claimed_late == []
    assert finished is True and score is None and leased == 0
    assert redis_client.hlen("leases-test:due:renewed") == 0


def test_a_member_made_due_earlier_while_held_keeps_that_time_through_renewals(redis_url, redis_client):
    async def body(store: Store) -> tuple:
        await store.due.mark_due(MEMBER, NOW)
        lease = await store.due.claim_member(MEMBER, NOW, 10)
        assert lease is not None
        # Given a new event that makes the member due again in 1 s while it is worked on
        await store.due.mark_due(MEMBER, NOW + 1)
        # When its claim is renewed, then finished
        await store.due.renew([(MEMBER, lease)], [], lease_s=10, now=NOW + 3)
        score_after_renewal = await store.due.due_score(MEMBER)
        finished = await store.due.finish_due(MEMBER, lease, None)
        return score_after_renewal, finished, await store.due.due_score(MEMBER)

    score_after_renewal, finished, score = scenario(redis_url, body)
    # Then it stays due at that time: the new event is not lost
    assert score_after_renewal == NOW + 1
    assert finished is False and score == NOW + 1


def test_a_claim_taken_by_another_worker_after_a_real_expiry_is_said_so_and_keeps_the_others_result(
    redis_url, redis_client
):
    async def body(store: Store) -> tuple:
        await store.due.mark_due(MEMBER, NOW)
        first = await store.due.claim_member(MEMBER, NOW, 10)
        assert first is not None
        # Given a worker that stalled past its lease, and another that claimed the member then
        [(_, second)] = await store.due.claim_due(NOW + 11, 10)
        # When the first one's heartbeat comes back, and the first one finishes
        renewed = await store.due.renew([(MEMBER, first)], [], lease_s=10, now=NOW + 12)
        finished_first = await store.due.finish_due(MEMBER, first, NOW + 500)
        # Then the second one's claim is intact, and it finishes
        still_second = await store.due.due_score(MEMBER)
        finished_second = await store.due.finish_due(MEMBER, second, None)
        return renewed, finished_first, still_second, second, finished_second

    renewed, finished_first, still_second, second, finished_second = scenario(redis_url, body)
    assert renewed == [HELD_BY_OTHER]
    assert finished_first is False and still_second == second
    assert finished_second is True


def test_taking_claims_over_lets_the_old_holder_go_and_refuses_a_stale_copy(redis_url, redis_client):
    async def body(store: Store) -> tuple:
        await store.due.mark_due(MEMBER, NOW)
        [(_, queued)] = await store.due.claim_due(NOW, 10)
        # When a worker takes the queued claim over, as it starts on the message
        [taken] = await store.due.take_claims([(MEMBER, queued)], now=NOW + 1, lease_s=10)
        # Then the scheduler that renewed it while it waited sees it taken, and a redelivered
        # copy of the message cannot take it again
        renewed_old = await store.due.renew([(MEMBER, queued)], [], lease_s=10, now=NOW + 2)
        stale = await store.due.take_claims([(MEMBER, queued)], now=NOW + 2, lease_s=10)
        finished = await store.due.finish_due(MEMBER, taken or 0.0, None)
        return taken, renewed_old, stale, finished

    taken, renewed_old, stale, finished = scenario(redis_url, body)
    assert taken is not None and taken >= NOW + 11
    assert renewed_old == [HELD_BY_OTHER] and stale == [None]
    assert finished is True


def test_a_lock_is_renewed_by_its_holder_only_and_taken_again_after_an_expiry_while_its_claim_is_held(
    redis_url, redis_client
):
    async def body(store: Store) -> tuple:
        await store.due.mark_due("deliver:d-1", NOW)
        lease = await store.due.claim_member("deliver:d-1", NOW, 10)
        assert lease is not None
        token = await store.due.acquire_lock("delivery:d-1", 1)
        other = await store.due.acquire_lock("delivery:d-2", 10)
        assert token and other
        held = LockHeld("delivery:d-1", token, ("deliver:d-1", lease))
        # When the holder renews its lock for 10 s, and renews one it does not hold
        statuses = await store.due.renew([], [held, LockHeld("delivery:d-2", "not-the-token")], lease_s=10, now=NOW)
        ttl_ms = await store.db.command("pttl", store.keys.lock("delivery:d-1"))
        # And its lock expires (Redis away longer than its life) while its claim is still held
        await store.db.command("delete", store.keys.lock("delivery:d-1"))
        retaken = await store.due.renew([], [held], lease_s=10, now=NOW)
        value = await store.db.command("get", store.keys.lock("delivery:d-1"))
        # But once the work is finished (claim ended, lock released), it is not taken again
        await store.due.finish_due("deliver:d-1", lease, None)
        await store.due.release_lock("delivery:d-1", token)
        after_finish = await store.due.renew([], [held], lease_s=10, now=NOW)
        return statuses, ttl_ms, retaken, value, after_finish

    statuses, ttl_ms, retaken, value, after_finish = scenario(redis_url, body)
    assert statuses == [RENEWED, HELD_BY_OTHER]
    assert ttl_ms > 5000
    assert retaken == [RENEWED] and value is not None
    assert after_finish == [HELD_BY_NONE]


def test_an_unforeseen_error_holds_the_member_back_for_a_doubling_wait_then_leaves_it_to_be_dead_lettered(
    redis_url, redis_client
):
    async def body(store: Store) -> list[tuple]:
        await store.due.mark_due(MEMBER, NOW)
        seen = []
        now = NOW
        for _ in range(3):
            [(_, lease)] = await store.due.claim_due(now + 100, 10)
            attempts = await store.due.fail_due(MEMBER, lease, attempts=3, now=now, first_wait_s=1.0)
            seen.append((attempts, await store.due.due_score(MEMBER), await store.due.leased_count()))
            now += 100
        # At the limit it is still claimed: the caller dead-letters it, then finishes it
        await store.due.finish_due(MEMBER, lease, None)
        seen.append((await store.due.failures(MEMBER), await store.due.due_score(MEMBER), 0))
        return seen

    seen = scenario(redis_url, body)
    # Then it is due again 1 s, then 2 s after each failure, counted as in progress meanwhile
    assert seen[0] == (1, NOW + 1.0, 1)
    assert seen[1] == (2, NOW + 100 + 2.0, 1)
    # And the third failure is the last: the member is left as it is, then dropped
    assert seen[2][0] == 3 and seen[2][1] >= NOW + 200
    assert seen[3] == (0, None, 0)


def test_a_finished_run_forgets_earlier_unforeseen_errors(redis_url, redis_client):
    async def body(store: Store) -> tuple:
        await store.due.mark_due(MEMBER, NOW)
        [(_, lease)] = await store.due.claim_due(NOW, 10)
        await store.due.fail_due(MEMBER, lease, attempts=5, now=NOW, first_wait_s=1.0)
        [(_, lease)] = await store.due.claim_due(NOW + 5, 10)
        await store.due.finish_due(MEMBER, lease, NOW + 3600)
        return await store.due.failures(MEMBER), await store.due.due_score(MEMBER)

    assert scenario(redis_url, body) == (0, NOW + 3600)
