"""What an event id's data is remembered by (worker/store/events.py): a short digest that still
tells a replay from a reused id, and the long one kept before it, compared as it was."""

from __future__ import annotations

import asyncio

from worker.contract.jsonlines import canonical_digest
from worker.store.keys import Keys
from worker.store.store import Store

FIRST = canonical_digest({"order_id": "O-1", "po_number": "PO-77"})
OTHER = canonical_digest({"order_id": "O-1", "po_number": "PO-99"})


def test_a_replay_is_told_from_a_reused_id_and_sixteen_bytes_are_kept(redis_url, redis_client):
    keys = Keys("ed-short")

    async def scenario():
        async with Store.open(redis_url, prefix="ed-short") as store:
            seen = store.events.seen_with_other_data
            # When an id comes first, then again with the same data, then with other data
            return [await seen("e-1", FIRST), await seen("e-1", FIRST), await seen("e-1", OTHER)]

    try:
        # Then only the other data counts as a reused id
        assert asyncio.run(scenario()) == [False, False, True]
        # And what is kept is the digest's first 16 bytes, expiring with the processed marker
        assert redis_client.get(keys.event_data("e-1")) == bytes.fromhex(FIRST)[:16]
        assert redis_client.ttl(keys.event_data("e-1")) > 0
        assert redis_client.object("encoding", keys.event_data("e-1")) == b"embstr"
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
