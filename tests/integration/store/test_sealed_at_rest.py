"""The AOF canary: a redemption code reaches its customer in the clear, and what Redis writes to
disk (its append-only file, and an RDB snapshot) holds it in no form, not even in the commands
of keys deleted since (the AOF keeps every write until it is rewritten)."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from tests.support.contract_events import account_updated, rewards_accrued
from tests.support.harness import Harness, make_settings
from tests.support.sealing import TEST_SEALING_KEY
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.dev.embedded_redis import EmbeddedRedis, start_embedded_redis
from worker.store.cipher import MAGIC

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test's own that writes every command to its AOF before answering."""
    with start_embedded_redis(tmp_path / "redis", appendfsync="always") as server:
        yield server


def encoded_forms(secret: bytes) -> list[bytes]:
    """The secret as it would show in a message body: as is (quoted-printable leaves letters,
    digits and '-' alone), and in base64 at each of the three alignments a body may put it in
    (only the characters that depend on the secret alone)."""
    forms = [secret]
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        forms.append(encoded[4 if offset else 0 : -4])
    return forms


def on_disk(data_dir: Path) -> bytes:
    """Every file Redis keeps in its directory (AOF, or Redis 7's appendonlydir/*, and the RDB)."""
    files = sorted(p for p in data_dir.rglob("*") if p.is_file())
    assert any("appendonly" in p.name for p in files) and any(p.suffix == ".rdb" for p in files), files
    return b"\n".join(p.read_bytes() for p in files)


def unfolded(data: bytes) -> bytes:
    """Line breaks and quoted-printable soft breaks removed, so that a folded form still shows."""
    return re.sub(rb"=?\r?\n", b"", data)


def test_canary_a_redemption_code_is_in_the_email_and_in_no_file_redis_writes(durable_redis, smtp_server, caplog):
    # Given a unique code, and a worker on a Redis that fsyncs its AOF after every command
    caplog.set_level(logging.DEBUG)
    code = f"RWD-CANARY-{uuid.uuid4().hex}"
    harness = Harness.build(make_settings(durable_redis.url, smtp_server.port), NOW)
    harness.ingest([account_updated()])
    harness.drain()
    # When its reward is accrued and the email is deferred once, then accepted (so the built
    # message is kept between the two); the same event comes again; a broken one carries it too
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    event = rewards_accrued("2026-01", code=code, event_id="canary")
    harness.ingest([event])
    harness.drain()
    harness.clock.advance(seconds=400)
    harness.drain()
    harness.ingest([event, rewards_accrued("not-a-month", code=code, event_id="canary-bad")])
    harness.drain()
    # Then the customer has it, in the clear
    assert_arrived_once_with(smtp_server, code)
    # And after a snapshot (uncompressed, so that a plain copy could not hide in LZF)
    client = redis.Redis.from_url(durable_redis.url)
    try:
        client.config_set("rdbcompression", "no")
        client.save()
    finally:
        client.close()
    raw_disk = on_disk(durable_redis.data_dir)
    disk = unfolded(raw_disk)
    # the files hold what Redis was told in the clear (the search sees it) and sealed values,
    assert b"rewards_code:A-100:2026-01" in disk and b"Acme B.V." in disk and MAGIC in disk
    # but not the code, in any form: not the sealed copy, not the built message, not the queue
    # messages and dead letters (which Redis keeps too)
    assert [form for form in encoded_forms(code.encode()) if form in disk] == []
    dead_letters = harness.dead_letters()
    assert [d["event_id"] for d in dead_letters] == ["canary-bad"] and code not in json.dumps(dead_letters)
    # And the key that opens them is neither on Redis's disk nor in any log record
    key = base64.b64decode(TEST_SEALING_KEY)
    assert key not in raw_disk and TEST_SEALING_KEY.encode() not in raw_disk
    assert len(caplog.records) > 10 and not [r for r in caplog.records if TEST_SEALING_KEY in r.getMessage()]


def assert_arrived_once_with(smtp_server: ScriptedSmtpServer, code: str) -> None:
    (msg,) = smtp_server.messages
    assert code in msg.message.get_body(("plain",)).get_content()
    assert code in msg.message.get_body(("html",)).get_content()
