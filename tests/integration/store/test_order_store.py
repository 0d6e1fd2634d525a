"""How orders and activations are kept in Redis: compact, and readable in the older format too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

from tests.support.billing_examples import three_year_order
from worker.store.keys import Keys
from worker.store.orders import ActivationToApply, activation_from, activation_value
from worker.store.store import Store

NINE_AM_CET = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))


def test_an_activation_reads_back_with_its_own_offset_and_an_event_id_with_spaces():
    stored = activation_value(NINE_AM_CET, "batch 7 / line 2")
    entry = activation_from(stored.encode())
    assert datetime.fromisoformat(entry["at"]) == NINE_AM_CET
    assert datetime.fromisoformat(entry["at"]).utcoffset() == timedelta(hours=1)
    assert entry["event_id"] == "batch 7 / line 2" and entry["ts"] == NINE_AM_CET.timestamp()


def test_a_short_activation_fits_redis_compact_hash_encoding():
    # Redis keeps a hash compact while every value is at most 64 bytes (hash-max-*-value)
    assert len(activation_value(datetime(2026, 11, 22, 0, 49, 47, tzinfo=UTC), "t-wa-000007").encode()) <= 64


def test_the_earliest_activation_wins_over_one_stored_in_the_older_json_format(redis_url, redis_client):
    # Given an activation stored as JSON, as before 2026-11-22
    keys = Keys("os-test")
    later = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    redis_client.hset(
        keys.activations("O-1"), "L1", json.dumps({"ts": later.timestamp(), "at": later.isoformat(), "event_id": "old"})
    )

    async def scenario():
        async with Store.open(redis_url, prefix="os-test") as store:
            await store.orders.save_order(three_year_order(order_id="O-1"), "e-order")
            # When a later activation arrives, then an earlier one
            newer = ActivationToApply("newer", "O-1", "L1", later + timedelta(days=1))
            await store.orders.apply_activations([newer], due_at=newer.at.timestamp())
            after_later = await store.orders.load_activations("O-1")
            earliest = ActivationToApply("earliest", "O-1", "L1", NINE_AM_CET)
            await store.orders.apply_activations([earliest], due_at=earliest.at.timestamp())
            return after_later, await store.orders.load_activations("O-1")

    after_later, activations = asyncio.run(scenario())
    # Then the later one left the old entry as it was, and the earlier one replaced it,
    # reading back in the new format
    assert after_later["L1"]["event_id"] == "old"
    assert activations["L1"]["event_id"] == "earliest"
    assert datetime.fromisoformat(activations["L1"]["at"]) == NINE_AM_CET
    assert not redis_client.hget(keys.activations("O-1"), "L1").startswith(b"{")
    redis_client.delete(keys.activations("O-1"))
