"""What an event id's data is remembered by (worker/store/events.py): a short digest under a
short digest of the id in a bucket hash of its generation, that still tells a replay from a
reused id; and the digests kept before (16 bytes under the id in a bucket, 16 bytes or 64 hex
digits in a key of their own), compared as they were."""

from __future__ import annotations

import asyncio
import time

import pytest

from worker.contract.jsonlines import canonical_digest
from worker.store.events import digest_bucket, digest_field
from worker.store.keys import Keys
from worker.store.store import Store

#: The tests' Store keeps events 90 days: a generation is 45 days.
SPAN_S = 90 * 86400 // 2


def bucket_key(keys: Keys, event_id: str, generations_ago: int = 0) -> str:
    generation = int(time.time()) // SPAN_S - generations_ago
    return keys.event_digests(generation, digest_bucket(event_id))


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
    "field, kept",
    [(digest_field("e-1"), bytes.fromhex(FIRST)[:8]), (b"e-1", bytes.fromhex(FIRST)[:16])],
    ids=["now", "as kept before 2026-12-03 (the id, 16 bytes)"],
)
def test_a_digest_is_looked_for_in_its_generation_and_the_two_before(
    redis_url, redis_client, generations_ago, remembered, field, kept
):
    # Given an id remembered some generations ago (its bucket of then, as Redis keeps it)
    keys = Keys("ed-gen")
    redis_client.hset(bucket_key(keys, "e-1", generations_ago), field, kept)

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
        assert not redis_client.exists(bucket_key(keys, "e-1"))
    finally:
        redis_client.delete(*redis_client.keys("ed-key:*"))
