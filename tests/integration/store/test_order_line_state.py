"""A booked order keeps its line state (activations, settled lines) in its own record ("o3",
worker/store/order_records.py: each value front-coded against the one before it), written by
the scripts that apply activations and settle windows: one key per order instead of two. What
came before the booking waits in the order's activations hash and is taken into the record at
the next write."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.support.billing_examples import order_line, three_year_order
from tests.support.store_layout import order_record_before
from worker.store import netstrings, order_records
from worker.store.keys import Keys
from worker.store.orders import ActivationToApply, activation_value
from worker.store.store import Store

NINE_AM = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
ORDER = three_year_order(order_id="O-1", lines=tuple(order_line(f"L{n}") for n in (1, 2, 3)))


def activation(event_id: str, line_id: str, days: int = 0) -> ActivationToApply:
    return ActivationToApply(event_id, "O-1", line_id, NINE_AM + timedelta(days=days))


def test_an_activation_before_the_booking_waits_in_the_hash_and_moves_into_the_record(redis_url, redis_client):
    keys = Keys("ls-move")

    async def scenario():
        async with Store.open(redis_url, prefix="ls-move") as store:
            # Given an activation that came before its order
            await store.orders.apply_activations([activation("a-1", "L1")], due_at=1.0)
            waiting = redis_client.hkeys(keys.activations("O-1"))
            # When the order is booked, and another of its lines is activated
            await store.orders.save_order(ORDER, "e-order")
            await store.orders.apply_activations([activation("a-2", "L2", days=1)], due_at=1.0)
            # (and both again: replays)
            replays = await store.orders.apply_activations(
                [activation("a-1", "L1"), activation("a-2", "L2", days=1)], due_at=1.0
            )
            return waiting, replays, await store.orders.load_window("O-1"), await store.orders.load_order("O-1")

    try:
        waiting, replays, window, order = asyncio.run(scenario())
        # Then the first waited in the hash; now both are in the order's record, the hash gone
        assert waiting == [b"L1"]
        assert not redis_client.exists(keys.activations("O-1"))
        state = order_records.line_state(redis_client.get(keys.order("O-1")))
        assert sorted(state[::2]) == [b"L1", b"L2"]
        # And the window reads both, the order reads as booked, and a replay is still known
        assert window is not None and {k: v["event_id"] for k, v in window.activations.items()} == {
            "L1": "a-1",
            "L2": "a-2",
        }
        assert order == ORDER and window.order == ORDER
        assert replays == ["seen", "seen"]
        # And an open window of one key costs less than the record and a hash beside it did
        redis_client.set("ls-move:o1", order_records.encode(ORDER, "e-order"))
        redis_client.hset("ls-move:hash", mapping=dict(zip(state[::2], state[1::2], strict=True)))
        before = redis_client.memory_usage("ls-move:o1") + redis_client.memory_usage("ls-move:hash")
        assert redis_client.memory_usage(keys.order("O-1")) < before - 50
    finally:
        redis_client.delete(*redis_client.keys("ls-move:*"))


def test_lines_activated_together_cost_a_few_bytes_each_after_the_first(redis_url, redis_client):
    keys = Keys("ls-front")

    async def scenario():
        async with Store.open(redis_url, prefix="ls-front") as store:
            # Given a booked order whose three lines are activated at one time, by one system
            await store.orders.save_order(ORDER, "e-order")
            await store.orders.apply_activations([activation(f"act-9-L{n}", f"L{n}") for n in (1, 2, 3)], due_at=1.0)
            # (and again: replays, which the scripts read from the front-coded values)
            replays = await store.orders.apply_activations([activation("act-9-L3", "L3")], due_at=1.0)
            return replays, await store.orders.load_window("O-1")

    try:
        replays, window = asyncio.run(scenario())
        # Then the window reads each line's activation whole
        assert window is not None and {k: v["event_id"] for k, v in window.activations.items()} == {
            "L1": "act-9-L1",
            "L2": "act-9-L2",
            "L3": "act-9-L3",
        }
        assert replays == ["seen"]
        # And the record is front-coded ("o5"): the second and third activations cost the bytes
        # they do not share with the one before, not ~30 each as plain netstrings ("o2")
        record = redis_client.get(keys.order("O-1"))
        assert record.startswith(order_records.MARKER_2_FRONT_CODED)
        state = order_records.line_state(record)
        plain = len(order_records.encode(ORDER, "e-order")) + sum(len(netstrings.encode(part)) for part in state)
        assert len(record) < plain - 30
    finally:
        redis_client.delete(*redis_client.keys("ls-front:*"))


def test_a_record_of_the_release_before_is_read_and_written_anew_front_coded(redis_url, redis_client):
    keys = Keys("ls-o2")
    # Given an order kept as the release of 2026-12-07 wrote it: its line state as plain
    # netstrings after the body ("o2"), L1 activated by a-1
    activated = activation_value(NINE_AM, "a-1")
    redis_client.set(keys.order("O-1"), order_record_before(ORDER, "e-order", b"L1", activated.encode()))

    async def scenario():
        async with Store.open(redis_url, prefix="ls-o2") as store:
            # When L1's activation comes again, and L2 is activated
            return await store.orders.apply_activations(
                [activation("a-1", "L1"), activation("a-2", "L2")], due_at=1.0
            ), await store.orders.load_window("O-1")

    try:
        outcomes, window = asyncio.run(scenario())
        # Then the scripts read the old layout: the first is a replay, the second applied
        assert outcomes == ["seen", "applied"]
        # And the record is written anew front-coded, its body as it was (packed with the "o1"
        # dictionary: "o3"), holding both, the order unchanged
        record = redis_client.get(keys.order("O-1"))
        assert record.startswith(order_records.MARKER_FRONT_CODED)
        assert order_records.line_state(record)[:2] == [b"L1", activated.encode()]
        assert window is not None and window.order == ORDER
        assert {k: v["event_id"] for k, v in window.activations.items()} == {"L1": "a-1", "L2": "a-2"}
    finally:
        redis_client.delete(*redis_client.keys("ls-o2:*"))


def test_a_removed_order_leaves_its_activations_behind_for_a_booking_that_comes_again(redis_url, redis_client):
    keys = Keys("ls-remove")

    async def scenario():
        async with Store.open(redis_url, prefix="ls-remove") as store:
            # Given a booked order with an activated line, in its record
            await store.orders.save_order(ORDER, "e-order")
            await store.orders.apply_activations([activation("a-1", "L1")], due_at=1.0)
            # When the order is removed (its account may not book it), then booked again
            await store.orders.remove_order(ORDER)
            gone = await store.orders.load_window("O-1"), await store.orders.load_activations("O-1")
            await store.orders.save_order(ORDER, "e-again")
            return gone, await store.orders.load_window("O-1")

    try:
        (gone_window, kept), window = asyncio.run(scenario())
        # Then the activation stayed while the order was gone, and the new booking sees it
        assert gone_window is None and set(kept) == {"L1"}
        assert window is not None and window.activations["L1"]["event_id"] == "a-1"
        assert not redis_client.exists(keys.order_event("O-1"))
    finally:
        redis_client.delete(*redis_client.keys("ls-remove:*"))
