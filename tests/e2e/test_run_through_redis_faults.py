"""`invoice-worker run --burst` as an operator runs it, through a Redis restart and a Redis stall
while a slow relay holds its sends in flight: it waits, goes on, exits 0, and sends nothing twice.
The log says each outage in one WARNING line and its end in one INFO line, without a traceback."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

from tests.integration.runtime.test_redis_faults import INVOICES, invoice_events
from tests.support.cli import CLI, cli_env, invoke, jsonl
from tests.support.smtp_doubles import ScriptedSmtpServer


def run_burst_through(fault, redis_url: str, relay: ScriptedSmtpServer) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        redis_url,
        relay.port,
        DUE_LEASE_S="3",
        SMTP_CONNECTIONS="8",
        SMTP_TIMEOUT_S="10",
        REDIS_CHECK_INTERVAL_S="0.2",
        REDIS_RECOVERY_GRACE_S="0.5",
    )
    env["LOG_LEVEL"] = "INFO"  # the outage's WARNING and its end's INFO
    ingested = invoke(["ingest", "-"], env, stdin=jsonl(invoice_events(INVOICES)))
    assert ingested.returncode == 0, ingested.stderr
    worker = subprocess.Popen(
        CLI + ["run", "--burst"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        relay.wait_for_messages(1, timeout_s=30)
        fault()
        stdout, stderr = worker.communicate(timeout=90)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    return subprocess.CompletedProcess(worker.args, worker.returncode, stdout, stderr)


def assert_each_invoice_once(relay: ScriptedSmtpServer) -> None:
    copies = Counter((str(m.message["Message-ID"]), rcpt) for m in relay.messages for rcpt in m.rcpt_tos)
    assert {key: n for key, n in copies.items() if n > 1} == {}
    assert len(copies) == 3 * INVOICES


def test_run_burst_waits_through_a_redis_restart_exits_0_and_sends_each_invoice_once(durable_redis, slow_relay):
    # Given invoices being sent by `run --burst`, When Redis restarts while sends are in flight
    result = run_burst_through(lambda: durable_redis.restart(down_s=1.5), durable_redis.url(), slow_relay)
    # Then the run finishes with exit status 0, and every invoice arrived once
    assert result.returncode == 0, result.stderr
    assert_each_invoice_once(slow_relay)
    # And the log says the outage and its end, once each, with no traceback
    assert "Traceback" not in result.stderr
    assert result.stderr.count("Redis unreachable at redis://127.0.0.1:") == 1
    assert result.stderr.count("Redis reachable again") == 1


def test_run_burst_waits_through_a_redis_stall_exits_0_and_sends_nothing_twice(durable_redis, slow_relay):
    # Given `run --burst` whose Redis client waits at most 0.5 s for a reply, When Redis answers
    # nobody for 3 s while sends are in flight
    url = durable_redis.url(socket_timeout=0.5)
    result = run_burst_through(lambda: durable_redis.stall(3.0), url, slow_relay)
    # Then the run finishes with exit status 0, nothing was sent twice, no traceback
    assert result.returncode == 0, result.stderr
    assert_each_invoice_once(slow_relay)
    assert "Traceback" not in result.stderr


def test_run_burst_started_before_redis_waits_for_it_then_does_the_work(durable_redis, smtp_server):
    # Given invoices in the queue, and Redis stopped when `run --burst` starts
    env = cli_env(durable_redis.url(), smtp_server.port, REDIS_CHECK_INTERVAL_S="0.2", REDIS_RECOVERY_GRACE_S="0.2")
    assert invoke(["ingest", "-"], env, stdin=jsonl(invoice_events(2))).returncode == 0
    durable_redis.stop()
    worker = subprocess.Popen(
        CLI + ["run", "--burst"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        # When it has said that it waits for Redis, and Redis comes up
        assert worker.stderr is not None
        first_line = worker.stderr.readline()
        assert f"Redis unreachable at redis://127.0.0.1:{durable_redis.port}/0" in first_line
        time.sleep(0.5)
        assert worker.poll() is None  # still waiting, not dead
        durable_redis.start()
        rest = worker.communicate(timeout=60)[1]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    # Then it did the work and exited 0, having said it once, without a traceback
    assert worker.returncode == 0, rest
    assert len(smtp_server.messages) == 2
    assert "Redis unreachable" not in rest and "Traceback" not in rest


def test_two_workers_through_a_redis_restart_at_default_lease_send_each_invoice_once(durable_redis, slow_relay):
    # Given two `run --burst` processes sharing the invoices, at the default lease
    env = cli_env(durable_redis.url(), slow_relay.port, SMTP_CONNECTIONS="4", SMTP_TIMEOUT_S="10")
    assert invoke(["ingest", "-"], env, stdin=jsonl(invoice_events(INVOICES))).returncode == 0
    workers = [
        subprocess.Popen(
            CLI + ["run", "--burst"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        # When Redis restarts while both have sends in flight
        slow_relay.wait_for_messages(2, timeout_s=30)
        durable_redis.restart(down_s=1.5)
        results = [(w.communicate(timeout=90)[1], w.returncode) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.communicate()
    # Then both finish with exit status 0, and every invoice arrived once
    assert [code for _, code in results] == [0, 0], [err for err, _ in results]
    assert_each_invoice_once(slow_relay)
