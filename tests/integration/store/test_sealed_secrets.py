"""Sealed secrets in a real Redis: redemption codes and built messages are kept as ciphertext bound
to their key; a wrong key fails the delivery with a clear reason; a rotated key keeps working
while the old one is listed in SEALING_OLD_KEYS."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.contract_events import account_updated, rewards_accrued
from tests.support.harness import Harness, make_settings
from tests.support.redis_dump import everything_in_redis
from tests.support.sealing import TEST_SEALING_KEY
from worker.store.cipher import MAGIC, UNREADABLE, SealedValueUnreadable, SealingKeyMissing, SealingKeys
from worker.store.keys import Keys
from worker.store.sealer import Sealer
from worker.store.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
TEST_KEYS = SealingKeys(base64.b64decode(TEST_SEALING_KEY))
OTHER_KEY = base64.b64encode(bytes(32)).decode()
DELIVERY = "iw:delivery:rewards_code:A-100:2026-01"


def test_a_code_sealed_by_ingest_is_ciphertext_with_a_ttl_and_opens_only_with_the_key(redis_url, redis_client):
    # Given a code sealed as ingest seals it
    sealer = Sealer(redis_url, Keys("iw"), ttl_s=60, sealing=TEST_KEYS)
    token = sealer.seal("RWD-SEALED-1")
    sealer.close()
    # Then Redis holds ciphertext under a TTL
    raw = redis_client.get(f"iw:sealed:{token}")
    assert raw is not None and raw.startswith(MAGIC) and b"RWD-SEALED-1" not in raw
    assert 0 < redis_client.pttl(f"iw:sealed:{token}") <= 60_000

    async def unseal(sealing: SealingKeys | None) -> str | None:
        async with Store.open(redis_url, sealing=sealing) as store:
            return await store.events.unseal(token)

    # And the worker's key opens it, another key or none refuses clearly
    assert asyncio.run(unseal(TEST_KEYS)) == "RWD-SEALED-1"
    with pytest.raises(SealedValueUnreadable, match="wrong SEALING_KEY"):
        asyncio.run(unseal(SealingKeys(bytes(32))))
    with pytest.raises(SealingKeyMissing, match="SEALING_KEY is not set"):
        asyncio.run(unseal(None))


def test_without_a_key_nothing_is_sealed_and_nothing_is_written(redis_url, redis_client):
    sealer = Sealer(redis_url, Keys("iw"), ttl_s=60, sealing=None)
    with pytest.raises(SealingKeyMissing, match="ingesting an event with a redemption code"):
        sealer.seal("RWD-NOT-KEPT")
    assert everything_in_redis(redis_client) == b""


def test_a_stored_message_is_ciphertext_and_a_copy_under_another_delivery_does_not_open(redis_url, redis_client):
    message = b"Subject: hi\r\n\r\nInwisselcode: RWD-IN-MESSAGE\r\n"

    async def scenario():
        async with Store.open(redis_url, sealing=TEST_KEYS) as store:
            kept = await store.deliveries.store_message("d-1", message, "<m1@x>")
            # a second build of the same delivery gets the first message back, opened
            again = await store.deliveries.store_message("d-1", b"another build", "<m1@x>")
            sealed = await store.redis.hget("iw:delivery:d-1", "message")
            await store.redis.hset("iw:delivery:d-2", mapping={"message": sealed, **_delivery_fields()})
            await store.redis.hset("iw:delivery:d-1", mapping=_delivery_fields())
            return (
                kept,
                again,
                sealed,
                await store.deliveries.load_delivery("d-1"),
                await store.deliveries.load_delivery("d-2"),
            )

    kept, again, sealed, loaded, moved = asyncio.run(scenario())
    assert kept == again == message and loaded is not None and loaded["message"] == message
    assert sealed.startswith(MAGIC) and b"RWD-IN-MESSAGE" not in sealed
    assert moved is not None and "message" not in moved and moved["message_unreadable"].startswith(UNREADABLE)

    async def without_key():
        async with Store.open(redis_url) as store:  # as `status` opens it
            loaded = await store.deliveries.load_delivery("d-1")
            with pytest.raises(SealingKeyMissing, match="storing a built message"):
                await store.deliveries.store_message("d-3", message, "<m3@x>")
            return loaded

    # And a store without keys reads the delivery, without its message, and stores none
    loaded = asyncio.run(without_key())
    assert loaded is not None and loaded["kind"] == "invoice" and "message" not in loaded


def _delivery_fields() -> dict[str, str]:
    return {"kind": "invoice", "key": "INV-1", "locale": "nl-NL", "recipients": "{}", "created_at": "0"}


# -- through the pipeline ------------------------------------------------------------------------


def test_a_code_sealed_with_another_key_fails_its_delivery_permanently_with_the_reason(
    redis_client, redis_url, smtp_server
):
    # Given a code ingested with one key
    ingesting = Harness.build(make_settings(redis_url, smtp_server.port), NOW)
    ingesting.ingest([account_updated(), rewards_accrued("2026-01", code="RWD-OTHER-KEY")])
    # When a worker with another SEALING_KEY delivers it
    worker = Harness.build(make_settings(redis_url, smtp_server.port, sealing_key=OTHER_KEY), NOW)
    worker.drain()
    # Then nothing is sent, and the recipient is failed with the reason, no key and no ciphertext
    assert smtp_server.messages == []
    (row,) = worker.status()
    (recipient,) = row["recipients"]
    assert recipient["state"] == "failed"
    assert recipient["last_reply"].startswith("sealed secret cannot be decrypted: wrong SEALING_KEY?")
    assert OTHER_KEY not in recipient["last_reply"] and TEST_SEALING_KEY not in recipient["last_reply"]
    assert b"RWD-OTHER-KEY" not in everything_in_redis(redis_client)
    # And what the failed delivery keeps leaves Redis with the retention, like a delivered one's
    retain = "retain:" + DELIVERY.removeprefix("iw:delivery:")
    assert redis_client.zscore("iw:due", retain) == NOW.timestamp() + 30 * 86400


@pytest.mark.parametrize("old_key_kept", [True, False], ids=["old key kept", "old key dropped"])
def test_a_message_built_before_a_key_rotation_is_sent_while_the_old_key_is_kept(
    redis_client, redis_url, smtp_server, old_key_kept
):
    # Given a rewards email built and stored with the test key, then deferred by the relay
    before = Harness.build(make_settings(redis_url, smtp_server.port), NOW)
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    before.ingest([account_updated(), rewards_accrued("2026-01", code="RWD-ROTATED")])
    before.drain()
    assert smtp_server.messages == [] and redis_client.hexists(DELIVERY, "message")
    # When the key is rotated (a new SEALING_KEY, the old one in SEALING_OLD_KEYS or not) and
    # the retry falls due
    rotated = {"sealing_key": OTHER_KEY, "sealing_old_keys": TEST_SEALING_KEY if old_key_kept else None}
    after = Harness.build(make_settings(redis_url, smtp_server.port, **rotated), NOW + timedelta(seconds=400))
    after.drain()
    (recipient,) = after.status()[0]["recipients"]
    if old_key_kept:
        # Then the very message built before is sent
        (msg,) = smtp_server.messages
        assert "RWD-ROTATED" in msg.message.get_body(("plain",)).get_content()
        assert recipient["state"] == "accepted"
    else:
        # Then it is not rebuilt (its code is gone): it fails with the reason
        assert smtp_server.messages == []
        assert recipient["state"] == "failed" and recipient["last_reply"].startswith(UNREADABLE)
    assert b"RWD-ROTATED" not in everything_in_redis(redis_client)
