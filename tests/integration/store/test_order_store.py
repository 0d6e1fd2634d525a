"""How orders and activations are kept in Redis: compact, and readable in the older format too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

from pydantic import TypeAdapter

from tests.support.billing_examples import account, order_line, three_year_order
from tests.support.store_layout import subscription_bucket
from worker.domain.model import Order
from worker.store import order_records
from worker.store.keys import Keys
from worker.store.orders import ActivationToApply, activation_from, activation_value
from worker.store.store import Store

NINE_AM_CET = datetime(2026, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))


def test_an_activation_reads_back_with_its_own_offset_and_an_event_id_with_spaces():
    stored = activation_value(NINE_AM_CET, "batch 7 / line 2")
    entry = activation_from(stored.encode())
    assert entry["at"] == NINE_AM_CET.isoformat()
    assert datetime.fromisoformat(entry["at"]) == NINE_AM_CET
    assert datetime.fromisoformat(entry["at"]).utcoffset() == timedelta(hours=1)
    assert entry["event_id"] == "batch 7 / line 2" and entry["ts"] == NINE_AM_CET.timestamp()


def test_an_activation_named_by_a_uuid_fits_redis_compact_hash_encoding():
    # Redis keeps a hash compact while every value is at most 64 bytes (hash-max-*-value)
    uuid = "3f2b8c1e-9d4a-4e7b-8a61-0c5d2e9f7b34"
    at = datetime(2026, 11, 22, 0, 49, 47, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert len(activation_value(at, uuid).encode()) <= 64
    # and reads back to the microsecond, with its offset
    entry = activation_from(activation_value(at, uuid))
    assert datetime.fromisoformat(entry["at"]) == at and entry["at"] == at.isoformat()


def test_an_activation_stored_with_its_iso_time_before_2026_12_03_reads_back():
    stored = f"{NINE_AM_CET.timestamp()!r} {NINE_AM_CET.isoformat()} e-1"
    assert activation_from(stored) == {"ts": NINE_AM_CET.timestamp(), "at": NINE_AM_CET.isoformat(), "event_id": "e-1"}


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
    # And the booked order's record now holds its line, the old hash taken into it
    state = order_records.line_state(redis_client.get(keys.order("O-1")))
    assert state[:1] == [b"L1"] and not state[1].startswith(b"{")
    assert not redis_client.exists(keys.activations("O-1"))
    redis_client.delete(*redis_client.keys("os-test:*"))


def test_orders_kept_as_json_and_as_records_make_one_subscription(redis_url, redis_client):
    # Given an order booked before 2026-12-02: JSON, its booking event in a key of its own, in
    # the subscription's set; and a later order of the same subscription, kept as a record
    keys = Keys("os-mixed")
    old = three_year_order(order_id="O-1", lines=(order_line("L1"), order_line("L2")))
    redis_client.set(keys.order("O-1"), TypeAdapter(Order).dump_json(old, exclude_defaults=True))
    redis_client.set(keys.order_event("O-1"), "e-old")
    redis_client.sadd(keys.subscription_orders("S-1"), "O-1")
    new = three_year_order(order_id="O-2")
    # (each with a line its window settled already: their subscription's later periods are live)
    for order_id in ("O-1", "O-2"):
        redis_client.hset(keys.settled(order_id), "L0", "INV-0000001")

    async def scenario():
        async with Store.open(redis_url, prefix="os-mixed") as store:
            await store.orders.save_order(new, "e-new")
            # When activations arrive for both, one of them for a line the old order lacks
            outcomes = await store.orders.apply_activations(
                [
                    ActivationToApply("a-1", "O-1", "L2", NINE_AM_CET),
                    ActivationToApply("a-2", "O-1", "L9", NINE_AM_CET),
                    ActivationToApply("a-3", "O-2", "L1", NINE_AM_CET),
                ],
                due_at=NINE_AM_CET.timestamp(),
            )
            return (
                outcomes,
                await store.orders.load_window("O-2"),
                await store.orders.load_window("O-1"),
                await store.orders.load_subscription("S-1"),
                [await store.orders.order_event_id(o) for o in ("O-1", "O-2")],
            )

    try:
        outcomes, window_new, window_old, subscription, events = asyncio.run(scenario())
        # Then the old order's lines are read from its JSON, the new one's from its record
        assert outcomes == ["applied", "unknown_line", "applied"]
        # Each window sees the other order of its subscription, whichever way it is kept
        assert window_new.order == new and window_new.other_orders == [old]
        assert window_old.order == old and window_old.other_orders == [new]
        assert [o.order_id for o in subscription.orders] == ["O-1", "O-2"]
        assert set(subscription.activations["O-1"]) == {"L2"}
        # The subscription's later periods are marked due from either order's subscription id
        assert redis_client.zscore(keys.due, "period:S-1") == NINE_AM_CET.timestamp()
        # (whose record and JSON each name it: O-1 alone would have marked it too)
        # And each booking event is found where it was kept
        assert events == ["e-old", "e-new"]
        # The new order is a record holding its line's activation, in the subscription's
        # bucket, with no key for its event; the JSON order keeps its activations in the hash
        assert redis_client.get(keys.order("O-2")).startswith(order_records.MARKER_2_FRONT_CODED)
        assert not redis_client.exists(keys.activations("O-2"))
        assert redis_client.hexists(keys.activations("O-1"), "L2")
        assert redis_client.hget(subscription_bucket(keys, "S-1"), "S-1") == b"O-2"
        assert not redis_client.exists(keys.subscription_order_ids("S-1"))
        assert not redis_client.exists(keys.order_event("O-2"))
    finally:
        redis_client.delete(*redis_client.keys("os-mixed:*"))


def test_an_open_window_is_one_due_member_until_the_window_settles_lines(redis_url, redis_client):
    # Given an order booked, none of its lines settled by its window yet
    keys = Keys("os-open")

    async def scenario():
        async with Store.open(redis_url, prefix="os-open") as store:
            await store.orders.save_order(three_year_order(order_id="O-1"), "e-1")
            # When one of its lines is activated
            await store.orders.apply_activations(
                [ActivationToApply("a-1", "O-1", "L1", NINE_AM_CET)], due_at=NINE_AM_CET.timestamp()
            )

    try:
        asyncio.run(scenario())
        # Then its window is due, and nothing else: the later periods wait for the window
        assert redis_client.zrange(keys.due, 0, -1) == [b"window:O-1"]
    finally:
        redis_client.delete(*redis_client.keys("os-open:*"))


def test_a_removed_order_leaves_its_subscription_whichever_way_it_was_kept(redis_url, redis_client):
    keys = Keys("os-remove")
    redis_client.sadd(keys.subscription_orders("S-1"), "O-1")

    async def scenario():
        async with Store.open(redis_url, prefix="os-remove") as store:
            await store.orders.save_order(three_year_order(order_id="O-1"), "e-1")
            await store.orders.save_order(three_year_order(order_id="O-2"), "e-2")
            # When O-1 is removed (its event rejected later)
            await store.orders.remove_order(three_year_order(order_id="O-1"))
            return await store.orders.load_subscription("S-1")

    try:
        subscription = asyncio.run(scenario())
        # Then the subscription holds O-2 alone, in neither the old set nor its bucket
        assert [o.order_id for o in subscription.orders] == ["O-2"]
        assert not redis_client.sismember(keys.subscription_orders("S-1"), "O-1")
        assert redis_client.hget(subscription_bucket(keys, "S-1"), "S-1") == b"O-2"
    finally:
        redis_client.delete(*redis_client.keys("os-remove:*"))


def test_an_accounts_orders_are_found_in_its_hash_and_in_the_sets_and_hashes_of_before(redis_url, redis_client):
    # Given an account whose O-1 was booked before 2026-12-03 (kept in a set), O-2
    # before 2026-12-07 (in a hash of the account's order ids), then O-3 and O-4
    keys = Keys("os-account")
    redis_client.sadd(keys.account_orders("A-100"), "O-1")
    redis_client.hset(keys.account_order_ids("A-100"), "O-2", "")

    async def scenario():
        async with Store.open(redis_url, prefix="os-account") as store:
            await store.orders.save_account(account(), NINE_AM_CET)
            for order_id in ("O-3", "O-4"):
                await store.orders.save_order(three_year_order(order_id=order_id), f"e-{order_id}")
            before = await store.orders.account_orders("A-100")
            await store.orders.remove_order(three_year_order(order_id="O-3"))
            await store.orders.remove_order(three_year_order(order_id="O-2"))
            return before, await store.orders.account_orders("A-100"), await store.orders.load_account("A-100")

    try:
        before, after, snapshot = asyncio.run(scenario())
        # Then the account's orders are all four, whichever way each was kept; O-2 and O-3
        # removed, two
        assert before == ["O-1", "O-2", "O-3", "O-4"]
        assert after == ["O-1", "O-4"]
        # And the new ones are fields of the account's own hash, beside its snapshot, which
        # Redis keeps compactly: no key of their own
        assert snapshot == account()
        assert not redis_client.exists(keys.account_order_ids("A-100"))
        assert redis_client.hget(keys.account("A-100"), "\x01O-4") == b""
        assert redis_client.object("encoding", keys.account("A-100")) in (b"listpack", b"ziplist")
    finally:
        redis_client.delete(*redis_client.keys("os-account:*"))


def test_an_open_order_takes_less_redis_memory_than_its_json_did(redis_url, redis_client):
    keys = Keys("os-memory")
    booked = three_year_order(lines=tuple(order_line(f"L{n}") for n in (1, 2, 3)), po_number=None)
    redis_client.set("os-memory:json", TypeAdapter(Order).dump_json(booked, exclude_defaults=True))

    async def scenario():
        async with Store.open(redis_url, prefix="os-memory") as store:
            await store.orders.save_order(booked, "e-1")

    try:
        asyncio.run(scenario())
        # Then the order and its subscription's index cost under half of the JSON and set before
        # (the bucket, which other subscriptions would share, counted whole)
        redis_client.sadd("os-memory:set", "O-1")
        before = redis_client.memory_usage("os-memory:json") + redis_client.memory_usage("os-memory:set")
        now = redis_client.memory_usage(keys.order("O-1")) + redis_client.memory_usage(subscription_bucket(keys, "S-1"))
        assert now * 2 < before
    finally:
        redis_client.delete(*redis_client.keys("os-memory:*"))


def test_a_replayed_activation_is_known_by_the_line_it_set_and_a_marker_is_kept_only_for_others(
    redis_url, redis_client
):
    keys = Keys("os-replay")
    jan_5 = NINE_AM_CET + timedelta(days=4)
    # Given an old marker (as every activation had before 2026-12-02) for "old"
    redis_client.set(keys.event("old"), "1", ex=3600)

    async def scenario():
        async with Store.open(redis_url, prefix="os-replay") as store:
            await store.orders.save_order(three_year_order(order_id="O-1"), "e-order")
            apply = store.orders.apply_activations
            # When L1 is activated on 5 January, then the same event comes again
            first = await apply([ActivationToApply("jan-5", "O-1", "L1", jan_5)], due_at=1.0)
            replay = await apply([ActivationToApply("jan-5", "O-1", "L1", jan_5)], due_at=1.0)
            markers_after_one = sorted(redis_client.keys("os-replay:event:*"))
            # And a later activation of L1, then an earlier one that displaces the 5 January one
            later = await apply([ActivationToApply("jan-9", "O-1", "L1", jan_5 + timedelta(days=4))], due_at=1.0)
            earlier = await apply([ActivationToApply("jan-1", "O-1", "L1", NINE_AM_CET)], due_at=1.0)
            # And all of them come again, with the one only an old marker knows
            again = await apply(
                [ActivationToApply(e, "O-1", "L1", jan_5) for e in ("jan-5", "jan-9", "jan-1", "old")], due_at=1.0
            )
            return first + replay, markers_after_one, later + earlier, again, await store.orders.load_activations("O-1")

    try:
        once, markers_after_one, later_earlier, again, activations = asyncio.run(scenario())
        # Then the replay had no effect, and one activation per line kept no marker
        assert once == ["applied", "seen"]
        assert markers_after_one == [keys.event("old").encode()]
        # The later and the earlier one applied; the earliest is what the line keeps
        assert later_earlier == ["applied", "applied"]
        assert activations["L1"]["event_id"] == "jan-1"
        # Every one of them is a replay now: the line names one, markers the others
        assert again == ["seen", "seen", "seen", "seen"]
        assert sorted(redis_client.keys("os-replay:event:*")) == sorted(
            keys.event(e).encode() for e in ("old", "jan-5", "jan-9")
        )
        assert all(redis_client.ttl(keys.event(e)) > 0 for e in ("jan-5", "jan-9"))
    finally:
        redis_client.delete(*redis_client.keys("os-replay:*"))
