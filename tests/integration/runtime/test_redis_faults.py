"""A worker through Redis faults while a slow relay holds its sends in flight: a crash during a
burst run, a restart under a long-running one (the command line's burst through a restart and a
stall: tests/e2e/test_run_through_redis_faults.py). Every invoice arrives exactly once (counted
by Message-ID and recipient), a burst run waits and finishes, and the log says each outage once,
without a traceback. Also: an eviction policy switched while the worker runs, and a queue
message that failed because Redis was away.

Redis is the test's own (`appendonly yes`, `appendfsync always`), restarted on the same port;
the relay holds each DATA reply for a second, so sends are in flight when Redis goes away and
their outcomes cannot be written until it is back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import dramatiq
import pytest

from tests.support.contract_events import account_updated, contact, line, order_booked, service_activated
from tests.support.harness import make_settings
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.runtime.broker import EVENTS_QUEUE
from worker.runtime.runner import Pipeline, make_pipeline, run
from worker.services.ingest import ingest_lines
from worker.services.status import collect_status

#: Invoices per test (the relay, `slow_relay` of tests/conftest.py, holds each DATA reply 1 s).
INVOICES = 20


def invoice_events(count: int) -> list[dict[str, Any]]:
    """`count` accounts with one order each, whose one line is active: `count` invoices at once,
    each to its own billing contact with the account's two contacts in Cc."""
    events = []
    for n in range(count):
        events += [
            account_updated(
                f"A-{n}",
                dunning=contact("Debiteuren", f"ar{n}@acme.example"),
                relationship=contact("Jan Jansen", f"jan{n}@acme.example"),
            ),
            order_booked(
                f"O-{n}",
                account_id=f"A-{n}",
                subscription_id=f"S-{n}",
                billing_contact=contact("Els de Vries", f"els{n}@acme.example"),
                lines=[line("L1", "Compute")],
            ),
            service_activated(f"O-{n}", "L1", "2026-01-01T09:00:00Z"),
        ]
    return events


def pipeline_for(redis_url: str, relay: ScriptedSmtpServer, **overrides: Any) -> Pipeline:
    settings = make_settings(
        redis_url,
        relay.port,
        # The real clock, and a lease short enough to run out within the test: an outcome
        # dropped would leave its recipients `sending`, and the send would be redone.
        due_lease_s=3.0,
        smtp_connections=8,
        smtp_timeout_s=10.0,
        redis_check_interval_s=0.2,
        redis_recovery_grace_s=0.5,
        **overrides,
    )
    return make_pipeline(settings)


def ingest(pipeline: Pipeline, count: int) -> None:
    ingest_events(pipeline, invoice_events(count))


def ingest_events(pipeline: Pipeline, events: list[dict[str, Any]]) -> None:
    report = ingest_lines(pipeline, [json.dumps(e) for e in events])
    assert report.accepted == len(events) and not report.rejections


def copies_by_message_id_and_recipient(relay: ScriptedSmtpServer) -> Counter[tuple[str, str]]:
    return Counter((str(m.message["Message-ID"]), rcpt) for m in relay.messages for rcpt in m.rcpt_tos)


def wait_for(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


class Burst:
    """`run --burst` on a thread: what it raised, if anything, once it returned."""

    def __init__(self, pipeline: Pipeline, timeout_s: float = 90) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(pipeline, timeout_s), daemon=True)

    def _run(self, pipeline: Pipeline, timeout_s: float) -> None:
        try:
            run(pipeline, burst=True, timeout_s=timeout_s)
        except BaseException as exc:  # the test says what it was
            self.error = exc

    def start(self) -> Burst:
        self._thread.start()
        return self

    def finished(self, timeout_s: float = 100) -> bool:
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


def assert_each_invoice_once(relay: ScriptedSmtpServer, count: int) -> None:
    copies = copies_by_message_id_and_recipient(relay)
    twice = {key: n for key, n in copies.items() if n > 1}
    assert twice == {}, f"sent more than once: {twice}"
    assert len({message_id for message_id, _ in copies}) == count
    assert len(copies) == 3 * count  # To plus two Cc, each once


def assert_outage_said_once(caplog: pytest.LogCaptureFixture) -> None:
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "Redis unreachable" in r.getMessage()]
    resumed = [r for r in caplog.records if "Redis reachable again" in r.getMessage()]
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(warnings) >= 1 and len(resumed) >= 1
    assert len(warnings) == len(resumed)  # one warning per outage, and each outage ends
    assert tracebacks == [], [r.getMessage() for r in tracebacks]


def all_accepted(pipeline: Pipeline) -> bool:
    settings = pipeline.settings
    rows = asyncio.run(collect_status(settings.redis_url or "", settings.redis_prefix))
    return len(rows) == INVOICES and all(r["state"] == "accepted" for row in rows for r in row["recipients"])


def test_a_redis_crash_while_sends_are_in_flight_sends_each_invoice_once_and_the_burst_finishes(
    durable_redis, slow_relay, caplog
):
    caplog.set_level(logging.INFO)
    # Given invoices being sent by a burst run through a relay that holds each reply 1 s
    pipeline = pipeline_for(durable_redis.url(), slow_relay)
    ingest(pipeline, INVOICES)
    burst = Burst(pipeline).start()
    slow_relay.wait_for_messages(1, timeout_s=30)
    # When Redis is killed (SIGKILL) while the next sends are in flight, and is started again
    # 1.5 s later, after the relay accepted them (tests/e2e/test_run_through_redis_faults.py:
    # a clean restart, through the command line)
    durable_redis.restart(down_s=1.5, crash=True)
    # Then the burst run waits, goes on, and finishes without an error
    assert burst.finished(), "the burst run did not finish"
    assert burst.error is None, repr(burst.error)
    # And every invoice reached the relay exactly once, each recipient once, all recorded as such
    assert_each_invoice_once(slow_relay, INVOICES)
    assert all_accepted(pipeline)
    assert_outage_said_once(caplog)


def test_a_long_running_worker_through_a_redis_restart_sends_each_invoice_once(durable_redis, slow_relay, caplog):
    caplog.set_level(logging.INFO)
    # Given a long-running worker sending invoices through the slow relay
    pipeline = pipeline_for(durable_redis.url(), slow_relay)
    ingest(pipeline, INVOICES)
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(pipeline,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    try:
        slow_relay.wait_for_messages(1, timeout_s=30)
        # When Redis restarts while sends are in flight
        durable_redis.restart(down_s=1.5)
        # Then every invoice is delivered and recorded
        wait_for(lambda: all_accepted(pipeline), timeout_s=60)
    finally:
        stop.set()
        worker.join(30)
    # And each exactly once
    assert_each_invoice_once(slow_relay, INVOICES)
    assert_outage_said_once(caplog)


def test_a_redis_switched_to_an_evicting_policy_stops_the_work_and_says_why_until_it_is_switched_back(
    durable_redis, smtp_server, caplog
):
    caplog.set_level(logging.INFO)
    # Given a long-running worker that has sent its first invoices
    pipeline = pipeline_for(durable_redis.url(), smtp_server)
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(pipeline,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    try:
        events = invoice_events(4)
        ingest_events(pipeline, events[:6])
        smtp_server.wait_for_messages(2, timeout_s=30)
        # When Redis is switched to a policy that may evict keys
        durable_redis.config_set("maxmemory-policy", "allkeys-lru")
        wait_for(lambda: any(r.levelno == logging.ERROR and "allkeys-lru" in r.getMessage() for r in caplog.records))
        # Then the worker says why at ERROR level, naming the fix, and takes no new work
        (error,) = [r for r in caplog.records if r.levelno == logging.ERROR and "allkeys-lru" in r.getMessage()]
        assert "noeviction" in error.getMessage() and "paused" in error.getMessage()
        ingest_events(pipeline, events[6:])
        time.sleep(1.0)  # ten looks at Redis, and many at the queues
        assert len(smtp_server.messages) == 2
        # When the policy is back, the work resumes and the new invoices go out, once
        durable_redis.config_set("maxmemory-policy", "noeviction")
        smtp_server.wait_for_messages(4, timeout_s=30)
        assert any("work resumed" in r.getMessage() for r in caplog.records)
    finally:
        stop.set()
        worker.join(30)
    assert len(copies_by_message_id_and_recipient(smtp_server)) == 4 * 3


def test_a_queue_message_that_failed_because_redis_was_away_runs_again_once_it_is_back(durable_redis, smtp_server):
    # Given a worker, and a message whose first run finds Redis gone (it stops it, then uses it)
    pipeline = pipeline_for(durable_redis.url(), smtp_server)
    runs: list[str] = []
    redis_stopped = threading.Event()

    def use_redis() -> None:
        if not runs:
            durable_redis.stop()
            redis_stopped.set()
        runs.append("run")
        with durable_redis.client() as client:
            client.ping()  # the first time: redis.ConnectionError, as any actor would meet it

    actor = dramatiq.actor(use_redis, broker=pipeline.broker, queue_name=EVENTS_QUEUE, min_backoff=50, max_backoff=100)
    actor.send()
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(pipeline,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    try:
        # When Redis comes back a second later (dramatiq's retry could not be enqueued meanwhile)
        assert redis_stopped.wait(30)
        time.sleep(1.0)
        durable_redis.start()
        # Then the message runs again, and succeeds: it was not dropped
        wait_for(lambda: len(runs) >= 2, timeout_s=30)
    finally:
        stop.set()
        worker.join(30)
    assert runs == ["run", "run"]
