"""SEALING_KEY as an operator meets it: refused clearly where it is needed and missing, made with
`invoice-worker sealing-key`, and made once by itself for the embedded defaults."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from tests.support.cli import cli_env, invoke, jsonl
from tests.support.contract_events import account_updated, rewards_accrued
from tests.support.redis_dump import everything_in_redis

HOW_TO_MAKE_ONE = "invoice-worker sealing-key"


@pytest.fixture
def keyless_env(redis_client, redis_url, smtp_server) -> dict[str, str]:
    """A real REDIS_URL and no sealing key."""
    env = cli_env(redis_url, smtp_server.port)
    del env["SEALING_KEY"]
    return env


def test_run_without_a_key_refuses_naming_the_setting_and_how_to_make_one(keyless_env):
    result = invoke(["run", "--burst"], keyless_env)
    assert result.returncode == 2
    assert "SEALING_KEY is not set, and run needs it" in result.stderr and HOW_TO_MAKE_ONE in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_without_a_key_takes_events_without_secrets_and_refuses_a_code(keyless_env, redis_client):
    # Given no key: an event without a secret goes in
    assert invoke(["ingest", "-"], keyless_env, stdin=jsonl([account_updated()])).returncode == 0
    # When an event with a redemption code comes
    result = invoke(["ingest", "-"], keyless_env, stdin=jsonl([rewards_accrued(code="RWD-NO-KEY")]))
    # Then it is refused, saying what to do, and its code is nowhere
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "SEALING_KEY is not set" in result.stderr and HOW_TO_MAKE_ONE in result.stderr
    assert "RWD-NO-KEY" not in result.stdout + result.stderr
    assert list(redis_client.scan_iter("iw:sealed:*")) == []
    assert b"RWD-NO-KEY" not in everything_in_redis(redis_client)


def test_sealing_key_prints_a_fresh_key_or_writes_it_once_to_a_private_file(tmp_path: Path):
    printed = invoke(["sealing-key"], cli_env("redis://unused", 25))
    assert printed.returncode == 0 and len(base64.b64decode(printed.stdout.strip(), validate=True)) == 32
    path = tmp_path / "sealing.key"
    written = invoke(["sealing-key", "--out", str(path)], cli_env("redis://unused", 25))
    assert written.returncode == 0 and f"SEALING_KEY_FILE={path}" in written.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() != printed.stdout.strip()
    again = invoke(["sealing-key", "--out", str(path)], cli_env("redis://unused", 25))
    assert again.returncode == 1 and "not overwritten" in again.stderr


def test_the_embedded_defaults_make_a_key_once_beside_the_redis_directory_and_use_it(
    tmp_path: Path, redis_url, smtp_server
):
    # Given no REDIS_URL and no key: the embedded Redis in tmp/redis
    env = cli_env(redis_url, smtp_server.port, EMBEDDED_REDIS_DIR=str(tmp_path / "redis"))
    del env["REDIS_URL"], env["SEALING_KEY"]
    # When a rewards code is ingested, then delivered by another command
    events = jsonl([account_updated(), rewards_accrued("2026-01", code="RWD-EMBEDDED")])
    assert invoke(["ingest", "-"], env, stdin=events).returncode == 0
    key_file = tmp_path / "redis.sealing-key"
    made = key_file.read_text()
    run = invoke(["run", "--burst"], env)
    assert run.returncode == 0, run.stderr
    # Then the code arrives, the key was made once (mode 0600), outside the Redis directory
    (msg,) = smtp_server.messages
    assert "RWD-EMBEDDED" in msg.message.get_body(("plain",)).get_content()
    assert key_file.read_text() == made and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    redis_files = [p for p in (tmp_path / "redis").rglob("*") if p.is_file()]
    assert redis_files and not [p for p in redis_files if made.strip().encode() in p.read_bytes()]
