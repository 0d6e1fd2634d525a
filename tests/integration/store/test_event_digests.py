"""What an event id's data is remembered by (worker/store/events.py): a short digest under a
short digest of the id in a bucket hash of its generation, whose buckets grow with its events,
that still tells a replay from a reused id; and the digests kept before (in one of 4,096 fixed
buckets, 16 bytes under the id in a bucket, 16 bytes or 64 hex digits in a key of their own),
compared as they were."""

from __future__ import annotations

import asyncio
import time

import pytest

from worker.contract.jsonlines import canonical_digest
from worker.store.events import (
    digest_bucket,
    digest_field,
    digest_place,
)
from worker.store.growing_buckets import BASE, FULL, id_number
from worker.store.keys import Keys
from worker.store.store import Store

#: The tests' Store keeps events 90 days: a generation is 45 days.
SPAN_S = 90 * 86400 // 2


def generation_of(generations_ago: int = 0) -> int:
    return int(time.time()) // SPAN_S - generations_ago


def bucket_key(keys: Keys, event_id: str, generations_ago: int = 0, level: int = 0) -> str:
    """The id's bucket at `level` of a generation."""
    return keys.event_digest_bucket(generation_of(generations_ago), digest_place(event_id, level))


def fixed_bucket_key(keys: Keys, event_id: str, generations_ago: int = 0) -> str:
    """The id's bucket of a generation as kept before 2026-12-07 (one of 4,096)."""
    return keys.event_digests(generation_of(generations_ago), digest_bucket(event_id))


FIRST = canonical_digest({"order_id": "O-1", "po_number": "PO-77"})
OTHER = canonical_digest({"order_id": "O-1", "po_number": "PO-99"})


def test_a_replay_is_told_from_a_reused_id_and_twenty_bytes_are_kept(redis_url, redis_client):
    keys = Keys("ed-short")

    async def scenario():
        async with Store.open(redis_url, prefix="ed-short") as store:
            seen = store.events.seen_with_other_data
            # When an id comes first, then again with the same data, then with other data
            return [await seen("e-1", FIRST), await seen("e-1", FIRST), await seen("e-1", OTHER)]

    try:
        # Then only the other data counts as a reused id
        assert asyncio.run(scenario()) == [False, False, True]
        # And what is kept is the digest's first 8 bytes under 12 of the id's, a field of a
        # compact bucket hash of this generation that expires after it and two more (at least
        # the marker's 90 days)
        bucket = bucket_key(keys, "e-1")
        assert redis_client.hgetall(bucket) == {digest_field("e-1"): bytes.fromhex(FIRST)[:8]}
        assert len(digest_field("e-1")) == 12
        assert 90 * 86400 <= redis_client.ttl(bucket) <= 135 * 86400
        assert redis_client.object("encoding", bucket) in (b"listpack", b"ziplist")
        assert not redis_client.exists(keys.event_data("e-1"))
    finally:
        redis_client.delete(*redis_client.keys("ed-short:*"))


def test_an_id_remembered_as_a_hex_digest_before_is_compared_as_hex(redis_url, redis_client):
    # Given an id whose data was remembered as 64 hex digits, as before 2026-12-02
    keys = Keys("ed-hex")
    redis_client.set(keys.event_data("e-1"), FIRST, ex=3600)

    async def scenario():
        async with Store.open(redis_url, prefix="ed-hex") as store:
            seen = store.events.seen_with_other_data
            return [await seen("e-1", FIRST), await seen("e-1", OTHER)]

    try:
        # Then the same data is a replay and other data a reused id, and the old value stands
        assert asyncio.run(scenario()) == [False, True]
        assert redis_client.get(keys.event_data("e-1")) == FIRST.encode()
    finally:
        redis_client.delete(*redis_client.keys("ed-hex:*"))


@pytest.mark.parametrize("generations_ago, remembered", [(1, True), (2, True), (3, False)])
@pytest.mark.parametrize(
    "bucket_of, field, kept",
    [
        (bucket_key, digest_field("e-1"), bytes.fromhex(FIRST)[:8]),
        (fixed_bucket_key, digest_field("e-1"), bytes.fromhex(FIRST)[:8]),
        (fixed_bucket_key, b"e-1", bytes.fromhex(FIRST)[:16]),
    ],
    ids=["now", "as kept before 2026-12-07 (4,096 buckets)", "as kept before 2026-12-03 (the id, 16 bytes)"],
)
def test_a_digest_is_looked_for_in_its_generation_and_the_two_before(
    redis_url, redis_client, generations_ago, remembered, bucket_of, field, kept
):
    # Given an id remembered some generations ago (its bucket of then, as Redis keeps it)
    keys = Keys("ed-gen")
    redis_client.hset(bucket_of(keys, "e-1", generations_ago), field, kept)

    async def scenario():
        async with Store.open(redis_url, prefix="ed-gen") as store:
            return await store.events.seen_with_other_data("e-1", OTHER)

    async def same():
        async with Store.open(redis_url, prefix="ed-gen") as store:
            return await store.events.seen_with_other_data("e-1", FIRST)

    try:
        # When the id comes again with other data, it is refused while that generation counts
        # (a bucket three generations old has expired in Redis; here it is only not looked at)
        assert asyncio.run(scenario()) is remembered
        # and with the same data it is a replay, whatever the layout it was kept in
        if remembered:
            assert asyncio.run(same()) is False
    finally:
        redis_client.delete(*redis_client.keys("ed-gen:*"))


def test_a_sixteen_byte_digest_kept_in_a_key_of_its_own_before_buckets_is_compared(redis_url, redis_client):
    # Given an id whose data was remembered in a key of its own, as 2026-12-02 kept it
    keys = Keys("ed-key")
    redis_client.set(keys.event_data("e-1"), bytes.fromhex(FIRST)[:16], ex=3600)

    async def scenario():
        async with Store.open(redis_url, prefix="ed-key") as store:
            seen = store.events.seen_with_other_data
            return [await seen("e-1", FIRST), await seen("e-1", OTHER)]

    try:
        # Then the same data is a replay, other data a reused id, and nothing new is written
        assert asyncio.run(scenario()) == [False, True]
        assert not redis_client.keys("ed-key:event-digests:*")
    finally:
        redis_client.delete(*redis_client.keys("ed-key:*"))


def test_a_few_thousand_events_share_a_few_dozen_compact_buckets(redis_url, redis_client):
    # Given a small installation: 3,000 event ids in a generation
    ids = [f"evt-{n}" for n in range(3000)]

    async def scenario():
        async with Store.open(redis_url, prefix="ed-few") as store:
            return await asyncio.gather(*(store.events.seen_with_other_data(i, FIRST) for i in ids))

    try:
        assert not any(asyncio.run(scenario()))
        # Then their digests fill the first level's buckets, each a compact hash, not thousands
        # of near-empty ones: ~24 B an event in all
        buckets = redis_client.keys("ed-few:event-digests:*")
        assert len(buckets) == BASE
        assert {redis_client.object("encoding", b) for b in buckets} <= {b"listpack", b"ziplist"}
        used = sum(redis_client.memory_usage(b, samples=0) for b in buckets)
        assert used / len(ids) < 40
    finally:
        redis_client.delete(*redis_client.keys("ed-few:*"))


def test_a_full_bucket_moves_its_generation_to_twice_the_buckets_and_what_it_holds_still_counts(
    redis_url, redis_client
):
    # Given ids that all fall in one bucket of the first level, as many as it holds
    keys = Keys("ed-full")
    crowd = [i for i in (f"evt-{n}" for n in range(20000)) if id_number(i) % BASE == 0]
    crowd = crowd[:FULL]
    assert len(crowd) == FULL
    later = next(i for i in (f"late-{n}" for n in range(1000)) if id_number(i) % BASE == 0)

    async def scenario():
        async with Store.open(redis_url, prefix="ed-full") as store:
            seen = store.events.seen_with_other_data
            first = await asyncio.gather(*(seen(i, FIRST) for i in crowd))
            # When one more id of that bucket comes, and then the crowd again
            return first, await seen(later, FIRST), await seen(crowd[0], FIRST), await seen(crowd[-1], OTHER)

    try:
        first, late, replay, reused = asyncio.run(scenario())
        assert not any(first) and late is False
        # Then the full bucket stays as it is, compact; the generation writes at the next
        # level, where the later id went
        assert redis_client.hlen(bucket_key(keys, crowd[0])) == FULL
        assert redis_client.object("encoding", bucket_key(keys, crowd[0])) in (b"listpack", b"ziplist")
        assert redis_client.get(keys.event_digest_level(generation_of())) == b"1"
        assert redis_client.hexists(bucket_key(keys, later, level=1), digest_field(later))
        # And an id of the first level is still a replay with its data and reused with other data
        assert (replay, reused) == (False, True)
        assert 90 * 86400 <= redis_client.ttl(keys.event_digest_level(generation_of())) <= 135 * 86400
    finally:
        redis_client.delete(*redis_client.keys("ed-full:*"))
