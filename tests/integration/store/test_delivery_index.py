"""Every delivery as it was created (Keys.created_deliveries): what `status` lists and the
retention sweep pages through, with the sorted set kept before 2026-12-07 still read."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from worker.domain.delivery import RecipientState
from worker.store import deliveries
from worker.store.keys import Keys
from worker.store.store import Store

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_deliveries_created_before_and_after_are_listed_and_paged_in_creation_order(redis_url, redis_client):
    # Given two deliveries an earlier release indexed in a sorted set, then three created now
    # (one with a space in its id, as an event id may have)
    keys = Keys("di-mixed")
    redis_client.zadd(keys.deliveries, {"invoice:INV-1": (T0 - timedelta(hours=2)).timestamp()})
    redis_client.zadd(keys.deliveries, {"invoice:INV-2": (T0 - timedelta(hours=1)).timestamp()})
    state = {"els@example.nl": RecipientState(address="els@example.nl", role="to")}
    created = ["card_failed:evt 7", "rewards_code:R-1", "card_failed:evt 8"]

    async def scenario():
        async with Store.open(redis_url, prefix="di-mixed") as store:
            for n, delivery_id in enumerate(created):
                await store.deliveries.create_delivery(
                    delivery_id,
                    kind=delivery_id.split(":")[0],
                    key="A-100",
                    recipients={"to": [{"name": "Els", "email": "els@example.nl"}]},
                    locale="nl-NL",
                    context={},
                    states=state,
                    now=T0 + timedelta(minutes=n),
                )
            # (the same delivery again: created once)
            await store.deliveries.create_delivery(
                created[0],
                kind="card_failed",
                key="A-100",
                recipients={"to": [{"name": "Els", "email": "els@example.nl"}]},
                locale="nl-NL",
                context={},
                states=state,
                now=T0 + timedelta(minutes=9),
            )
            pages = [await store.deliveries.delivery_page(start, 2) for start in (0, 2, 4, 6)]
            return (
                await store.deliveries.delivery_ids(),
                await store.deliveries.delivery_ids(since=(T0 - timedelta(minutes=90)).timestamp()),
                await store.deliveries.delivery_ids(since=(T0 + timedelta(minutes=1)).timestamp()),
                pages,
            )

    try:
        every, since_before, since_now, pages = asyncio.run(scenario())
        # Then all five are listed by creation time, whichever way each was indexed
        assert every == ["invoice:INV-1", "invoice:INV-2", *created]
        # and `since` narrows across both
        assert since_before == ["invoice:INV-2", *created]
        assert since_now == created[1:]
        # And the sweep's pages go through both, each delivery once
        assert pages == [["invoice:INV-1", "invoice:INV-2"], created[:2], created[2:], []]
        # The new ones cost a list entry each, not a sorted set's member
        assert redis_client.llen(keys.created_deliveries) == 3
        assert redis_client.zcard(keys.deliveries) == 2
    finally:
        redis_client.delete(*redis_client.keys("di-mixed:*"))


def test_a_page_that_spans_the_sorted_set_of_before_and_the_list_holds_both(redis_url, redis_client):
    keys = Keys("di-span")
    redis_client.zadd(keys.deliveries, {"invoice:INV-1": T0.timestamp()})
    redis_client.rpush(keys.created_deliveries, f"{T0.timestamp() + 60!r} invoice:INV-2")

    async def scenario():
        async with Store.open(redis_url, prefix="di-span") as store:
            return await store.deliveries.delivery_page(0, 500), await store.deliveries.delivery_page(1, 500)

    try:
        assert asyncio.run(scenario()) == (["invoice:INV-1", "invoice:INV-2"], ["invoice:INV-2"])
    finally:
        redis_client.delete(*redis_client.keys("di-span:*"))


def test_since_reads_the_recent_end_of_the_list_and_still_finds_what_a_slower_clock_follows(
    redis_url, redis_client, monkeypatch
):
    # Given deliveries an hour apart, read back two at a time; INV-5 was stamped by a worker
    # whose clock ran slow, after INV-4 of a worker whose clock ran fast
    monkeypatch.setattr(deliveries, "SINCE_PAGE", 2)
    keys = Keys("di-since")
    stamps = [("invoice:INV-1", 0), ("invoice:INV-2", 60), ("invoice:INV-3", 120)]
    stamps += [("invoice:INV-4", 240), ("invoice:INV-5", 225), ("invoice:INV-6", 300)]
    for delivery_id, minutes in stamps:
        redis_client.rpush(keys.created_deliveries, f"{(T0 + timedelta(minutes=minutes)).timestamp()!r} {delivery_id}")
    lranges = []

    async def scenario():
        async with Store.open(redis_url, prefix="di-since") as store:
            command = store.deliveries.db.command

            def counted(name, *args, **options):
                lranges.extend([args] if name == "lrange" else [])
                return command(name, *args, **options)

            monkeypatch.setattr(store.deliveries.db, "command", counted)
            return await store.deliveries.delivery_ids(since=(T0 + timedelta(minutes=230)).timestamp())

    try:
        # When asked for those created since 230 minutes past, then both come, by creation time:
        # the slow clock's entry before 230 did not end the reading
        assert asyncio.run(scenario()) == ["invoice:INV-4", "invoice:INV-6"]
        # And the oldest deliveries were not read: two pages of two, not the whole list of six
        assert len(lranges) == 2
    finally:
        redis_client.delete(*redis_client.keys("di-since:*"))
