"""Shared fixtures: a real Redis and real SMTP servers on loopback.

``REDIS_URL``, when set, points the tests at an existing Redis instead of the embedded
one. It must be a disposable database: every test that uses ``redis_client`` FLUSHDBs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support.certs import TlsMaterial, make_test_tls
from tests.support.durable_redis import DurableRedis
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.dev.embedded_redis import start_embedded_redis
from worker.dev.local_smtp import LocalSmtpServer


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the Redis the tests share: ``$REDIS_URL`` or an embedded server."""
    external_url = os.environ.get("REDIS_URL")
    if external_url:
        yield external_url
        return
    with start_embedded_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client (bytes replies) on an emptied database."""
    client = redis.Redis.from_url(redis_url, decode_responses=False)
    # Flushed before rather than after, so a failing test leaves its keys to inspect.
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A throwaway CA and a server certificate for localhost/127.0.0.1."""
    return make_test_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    """A started ScriptedSmtpServer that accepts everything until the test scripts it."""
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    """A redis-server of the test's own that keeps everything on disk (appendfsync always), to
    restart, stall or crash under a running worker."""
    with DurableRedis(tmp_path / "redis") as server:
        yield server


#: How long `slow_relay` holds each DATA reply (s): sends stay in flight while Redis fails.
SLOW_RELAY_HOLD_S = 1.0


@pytest.fixture
def slow_relay() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer(stall_s=SLOW_RELAY_HOLD_S, stall_stage="data") as server:
        yield server


@pytest.fixture
def eml_dir(tmp_path: Path) -> Path:
    """The directory LocalSmtpServer delivers into (created when the server starts)."""
    return tmp_path / "outbox"


@pytest.fixture
def local_smtp(eml_dir: Path) -> Iterator[LocalSmtpServer]:
    """A started LocalSmtpServer writing ``.eml`` files into ``eml_dir``."""
    with LocalSmtpServer(eml_dir) as server:
        yield server


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder is the kind: tests/unit, tests/integration, tests/e2e (markers in pyproject.toml).
    for item in items:
        kind = item.path.relative_to(Path(__file__).parent).parts[0]
        if kind in ("unit", "integration", "e2e"):
            item.add_marker(kind)
