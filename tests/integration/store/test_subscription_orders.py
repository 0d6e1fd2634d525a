"""A subscription's order ids (worker/store/scripts/subscription_order.lua): a field of a bucket
shared with other subscriptions, whose buckets grow with them; a subscription whose ids would
not fit a compact hash keeps them in a hash of its own."""

from __future__ import annotations

import asyncio

from tests.support.billing_examples import three_year_order
from tests.support.store_layout import subscription_bucket
from worker.store import growing_buckets
from worker.store.keys import Keys
from worker.store.store import Store


def test_a_subscription_of_many_orders_moves_to_a_hash_of_its_own_and_keeps_them_all(redis_url, redis_client):
    # Given a subscription whose orders' ids, joined, grow past what a compact hash keeps
    keys = Keys("so-many")
    order_ids = [f"ORDER-2026-{n:06d}" for n in range(1, 6)]
    assert len("\n".join(order_ids[:3])) <= growing_buckets.COMPACT_VALUE_BYTES < len("\n".join(order_ids[:4]))

    async def scenario():
        async with Store.open(redis_url, prefix="so-many") as store:
            seen = []
            for order_id in order_ids:
                await store.orders.save_order(three_year_order(order_id=order_id), f"e-{order_id}")
                # (booked twice: a redelivered event adds nothing)
                await store.orders.save_order(three_year_order(order_id=order_id), f"e-{order_id}")
                seen.append(
                    (
                        redis_client.hget(subscription_bucket(keys, "S-1"), "S-1"),
                        redis_client.exists(keys.subscription_order_ids("S-1")),
                    )
                )
            # When one of them is removed (its event rejected later)
            await store.orders.remove_order(three_year_order(order_id=order_ids[1]))
            return seen, await store.orders.load_subscription("S-1"), await store.orders.load_window(order_ids[0])

    try:
        seen, subscription, window = asyncio.run(scenario())
        # Then the first three share the bucket's field, one per line, and the fourth moves
        # them all to the subscription's hash, where the fifth goes too
        assert seen[2] == ("\n".join(order_ids[:3]).encode(), 0)
        assert seen[3] == (None, 1) and seen[4] == (None, 1)
        assert redis_client.object("encoding", subscription_bucket(keys, "S-1")) is None
        # And the subscription and a window of it see every order but the removed one
        kept = [order_ids[0], *order_ids[2:]]
        assert [o.order_id for o in subscription.orders] == kept
        assert [o.order_id for o in window.other_orders] == kept[1:]
        assert sorted(redis_client.hkeys(keys.subscription_order_ids("S-1"))) == [o.encode() for o in kept]
    finally:
        redis_client.delete(*redis_client.keys("so-many:*"))


def test_three_thousand_subscriptions_share_the_first_levels_compact_buckets(redis_url, redis_client):
    # Given 3,000 subscriptions of one order each
    keys = Keys("so-few")
    orders = [three_year_order(order_id=f"O-{n}", subscription_id=f"S-{n}") for n in range(3000)]

    async def scenario():
        async with Store.open(redis_url, prefix="so-few") as store:
            await asyncio.gather(*(store.orders.save_order(order, f"e-{order.order_id}") for order in orders))
            return await store.orders.load_subscription("S-1234"), await store.orders.load_subscription("S-9999")

    try:
        found, unknown = asyncio.run(scenario())
        # Then each is found by its id, an unknown one holds nothing
        assert [o.order_id for o in found.orders] == ["O-1234"] and unknown.orders == []
        # And they share the first level's 64 buckets, compact, ~30 B a subscription in all
        buckets = redis_client.keys("so-few:subscription-orders:*")
        assert len(buckets) == growing_buckets.BASE
        assert {redis_client.object("encoding", b) for b in buckets} <= {b"listpack", b"ziplist"}
        used = sum(redis_client.memory_usage(b, samples=0) for b in buckets)
        assert used / len(orders) < 40
        assert not redis_client.exists(keys.subscription_order_ids("S-1234"))
    finally:
        redis_client.delete(*redis_client.keys("so-few:*"))
