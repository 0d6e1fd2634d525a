"""Redis must keep everything: an evicting server is refused at start-up, and a restart mid-run
(the AOF brings the data back) loses no email and sends none twice."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import redis

from tests.support.contract_events import contract_example
from tests.support.harness import Harness, make_settings
from worker.dev.embedded_redis import start_embedded_redis
from worker.errors import UnsafeRedis
from worker.runtime.runner import run

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test alone: it gets reconfigured or restarted."""
    with start_embedded_redis(tmp_path / "redis") as server:
        yield server


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl"])
def test_run_refuses_a_redis_that_may_evict_keys(own_redis, smtp_server, policy):
    # Given a Redis configured to evict keys under memory pressure
    with redis.Redis.from_url(own_redis.url) as client:
        client.config_set("maxmemory-policy", policy)
    harness = Harness.build(make_settings(own_redis.url, smtp_server.port), NOW)
    # When a worker starts, then it refuses with the policy and the fix in the message
    with pytest.raises(UnsafeRedis, match=f"'{policy}'.*noeviction"):
        run(harness.pipeline, burst=True, timeout_s=10)
    assert smtp_server.messages == []


def _wait_for(predicate, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_a_redis_restart_mid_run_loses_nothing_and_sends_each_email_once(own_redis, smtp_server):
    # Given a running worker whose relay is down, so both invoices wait as retries in Redis
    harness = Harness.build(make_settings(own_redis.url, smtp_server.port, retry_first_s=1.0, retry_max_s=2.0), NOW)
    smtp_server.down()
    harness.ingest(contract_example())
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(harness.pipeline,), kwargs={"stop": stop})
    worker.start()
    try:
        _wait_for(
            lambda: (
                len(harness.status()) == 2
                and all(r["state"] == "deferred" for row in harness.status() for r in row["recipients"])
            )
        )
        # When Redis restarts (its AOF restores the data) and then the relay comes back
        own_redis.restart()
        smtp_server.up()
        harness.clock.advance(seconds=10)
        # Then every pending email is delivered, once
        smtp_server.wait_for_messages(2, timeout_s=30)
        _wait_for(lambda: all(r["state"] == "accepted" for row in harness.status() for r in row["recipients"]))
    finally:
        stop.set()
        worker.join(30)
    time.sleep(0.5)
    assert len(smtp_server.messages) == 2
    assert len({m.message["Message-ID"] for m in smtp_server.messages}) == 2
