"""A delivery folded by retention (real Redis): its three keys become one record, which reads
back as they did; what comes later (a late bounce, another attempt) is laid over it and folded in
next time; a fold that raced a change does nothing; the same delivery id is not created again."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace

import redis

from tests.integration.store.test_close_attempt import ELS, NOW, accepted, pending
from tests.support.sealing import TEST_SEALING_KEY
from worker.domain.delivery import Outcome
from worker.store.cipher import SealingKeys
from worker.store.deliveries import message_digest
from worker.store.store import Store

DELIVERY = "payment_failed:evt-1"
SEALING = SealingKeys(base64.b64decode(TEST_SEALING_KEY))
MESSAGE = b"Message-ID: <a@b>\r\n\r\nhello" * 100


async def delivered(store: Store) -> None:
    """A delivery created, its message stored and its one recipient accepted."""
    created = await store.deliveries.create_delivery(
        DELIVERY,
        kind="payment_failed",
        key="evt-1",
        recipients={"to": [{"name": "Els de Vries", "email": ELS}], "cc": []},
        locale="nl-NL",
        context={"amount": "12.10"},
        states=pending(),
        now=NOW,
    )
    assert created
    await store.deliveries.store_message(DELIVERY, MESSAGE, "<a@b>")
    opened = await store.deliveries.open_delivery(DELIVERY, 30)
    assert opened is not None
    entry = {"at": NOW.timestamp(), "attempt": {ELS: {"state": "accepted", "reply": "250 2.0.0 Ok"}}}
    await store.deliveries.close_delivery(DELIVERY, opened.token, states=accepted(), log=entry, lease=0.0, next_at=None)


def test_a_folded_delivery_reads_as_before_and_takes_what_comes_later(redis_url):
    client = redis.Redis.from_url(redis_url)
    prefix = "fold1"

    async def scenario():
        async with Store.open(redis_url, prefix=prefix, sealing=SEALING) as store:
            await delivered(store)
            before = (
                await store.deliveries.load_delivery(DELIVERY),
                await store.deliveries.recipient_states(DELIVERY),
                await store.deliveries.delivery_log(DELIVERY),
            )
            # When retention folds it
            freed = await store.deliveries.fold(DELIVERY, MESSAGE)
            after = (
                await store.deliveries.load_delivery(DELIVERY),
                await store.deliveries.recipient_states(DELIVERY),
                await store.deliveries.delivery_log(DELIVERY),
            )
            # and when the same delivery is created again (its event redelivered a month on)
            again = await store.deliveries.create_delivery(
                DELIVERY,
                kind="payment_failed",
                key="evt-1",
                recipients={"to": [], "cc": []},
                locale="nl-NL",
                context={},
                states={},
                now=NOW,
            )
            # and a late bounce comes for the recipient
            bounced = {ELS: replace(accepted()[ELS], state=Outcome.BOUNCED, reply="550 5.1.1 no such user")}
            await store.deliveries.save_recipient_states(DELIVERY, bounced, log={"at": 2.0, "bounce": "550"})
            late = await store.deliveries.recipient_states(DELIVERY), await store.deliveries.delivery_log(DELIVERY)
            # and retention folds it again
            refolded = await store.deliveries.fold(DELIVERY, None)
            last = await store.deliveries.recipient_states(DELIVERY), await store.deliveries.delivery_log(DELIVERY)
            return before, freed, after, again, late, refolded, last

    before, freed, after, again, late, refolded, last = asyncio.run(scenario())
    # Then only the record is left, and it reads as the delivery did, but for the message
    keys = [k.decode() for k in client.scan_iter(match=f"{prefix}:delivery:*")]
    assert keys == [f"{prefix}:delivery:{DELIVERY}:record"]
    assert freed > len(MESSAGE)
    delivery, states, history = after
    assert "message" in before[0] and "message" not in delivery
    assert delivery["message_digest"] == message_digest(MESSAGE)
    assert {k: v for k, v in delivery.items() if k != "message_digest"} == {
        k: v for k, v in before[0].items() if k != "message"
    }
    assert (states, history) == before[1:]
    # And the delivery is not created a second time
    assert not again
    # And the late bounce reads over it, and is in the record after the next fold
    assert late[0][ELS].state == Outcome.BOUNCED and late[1] == [*history, {"at": 2.0, "bounce": "550"}]
    assert refolded == 0 and last == late
    assert [k.decode() for k in client.scan_iter(match=f"{prefix}:delivery:*")] == keys


def test_a_fold_that_raced_a_change_does_nothing(redis_url):
    client = redis.Redis.from_url(redis_url)
    prefix = "fold2"

    async def scenario():
        async with Store.open(redis_url, prefix=prefix, sealing=SEALING) as store:
            await delivered(store)
            deliveries = store.deliveries
            # Given a fold that read the keys, and a bounce report written before its script ran
            real_script = store.db.script

            def bounce_first(name, *, keys, args):
                if name == "fold_delivery":
                    client.rpush(keys[2], b'{"at": 3.0, "bounce": "late"}')
                return real_script(name, keys=keys, args=args)

            store.db.script = bounce_first  # type: ignore[method-assign]
            raced = await deliveries.fold(DELIVERY, MESSAGE)
            store.db.script = real_script  # type: ignore[method-assign]
            return raced, await deliveries.load_delivery(DELIVERY), await deliveries.delivery_log(DELIVERY)

    raced, delivery, history = asyncio.run(scenario())
    # Then nothing was folded: the message and the report are there, for the next try
    assert raced is None
    assert delivery is not None and delivery["message"] == MESSAGE
    assert history[-1] == {"at": 3.0, "bounce": "late"}
    assert not client.exists(f"{prefix}:delivery:{DELIVERY}:record")


def test_an_attempt_on_a_folded_delivery_written_twice_is_recorded_once(redis_url):
    async def scenario():
        async with Store.open(redis_url, prefix="fold3", sealing=SEALING) as store:
            # Given a folded delivery sent again (a bounce's resend)
            await delivered(store)
            await store.deliveries.fold(DELIVERY, MESSAGE)
            opened = await store.deliveries.open_delivery(DELIVERY, 30)
            assert opened is not None and opened.delivery is not None and opened.states[ELS].state == Outcome.ACCEPTED
            entry = {"at": 4.0, "attempt": {ELS: {"state": "accepted", "reply": "250 2.0.0 Ok"}}}
            # When its outcome is written twice (the reply to the first was lost)
            for _ in range(2):
                await store.deliveries.close_delivery(
                    DELIVERY, opened.token, states=accepted(), log=entry, lease=0.0, next_at=None
                )
            return await store.deliveries.delivery_log(DELIVERY)

    history = asyncio.run(scenario())
    # Then the history holds the first attempt and this one, once
    assert [e["at"] for e in history] == [NOW.timestamp(), 4.0]
