"""A long-running worker's HTTP side on METRICS_PORT, scraped and probed as Prometheus and an
orchestrator would: `/metrics` after one invoice whose three recipients were accepted, deferred
and rejected by a real (scripted) SMTP server; `/readyz` through a Redis stop and start, and a
relay that is down; `/healthz` staying alive through a Redis outage."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli import wait_for
from tests.support.contract_events import account_updated, contact, line, order_booked, service_activated
from tests.support.durable_redis import DurableRedis
from tests.support.harness import Harness, make_settings
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.dev.local_smtp import find_free_port
from worker.runtime.probes import MetricsPortInUse, MetricsUnavailable, Probes, probe_relay
from worker.runtime.runner import Pipeline, run
from worker.services.context import ServiceContext

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BILLING, DUNNING, RELATIONSHIP = "els@acme.example", "ar@acme.example", "jan@acme.example"


def one_invoice() -> list[dict[str, Any]]:
    return [
        account_updated(
            "A-1", dunning=contact("Debiteuren", DUNNING), relationship=contact("Jan Jansen", RELATIONSHIP)
        ),
        order_booked(
            "O-1",
            account_id="A-1",
            subscription_id="S-1",
            billing_contact=contact("Els de Vries", BILLING),
            lines=[line("L1", "Compute")],
        ),
        service_activated("O-1", "L1", "2026-03-02T09:00:00Z"),
    ]


class Running:
    """`run` (not burst) on a thread, with its probe server on `port`."""

    def __init__(self, pipeline: Pipeline, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(pipeline,), daemon=True)

    def _run(self, pipeline: Pipeline) -> None:
        try:
            run(pipeline, stop=self.stop)
        except BaseException as exc:  # the test says what it was
            self.error = exc

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def probe(self, path: str) -> tuple[int, dict[str, Any]]:
        status, body = self.get(path)
        return status, json.loads(body)

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        status, body = self.get("/metrics")
        assert status == 200
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body.decode())
            for s in family.samples
        }

    def up(self, timeout_s: float = 20) -> Running:
        self._thread.start()
        wait_for(lambda: self._answers() or self.error is not None, timeout_s)
        assert self.error is None, self.error
        return self

    def _answers(self) -> bool:
        try:
            self.get("/healthz")
        except OSError:
            return False
        return True

    def down(self) -> None:
        self.stop.set()
        self._thread.join(30)


def value(metrics: dict, name: str, **labels: str) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


@contextmanager
def running(redis_url: str, relay_port: int, **overrides: Any) -> Iterator[tuple[Running, Harness]]:
    port = find_free_port()
    settings = make_settings(
        redis_url, relay_port, metrics_port=port, metrics_host="127.0.0.1", redis_check_interval_s=0.1, **overrides
    )
    harness = Harness.build(settings, NOW)
    worker = Running(harness.pipeline, port).up()
    try:
        yield worker, harness
    finally:
        worker.down()


def test_metrics_count_each_recipients_outcome_of_one_invoice(redis_client, redis_url: str) -> None:
    # Given a relay that accepts the billing contact, defers the dunning contact and rejects
    # the account-relationship contact
    replies = {DUNNING: "451 4.2.0 mailbox busy, try later", RELATIONSHIP: "550 5.1.1 no such user"}
    with ScriptedSmtpServer(reply_for_rcpt=replies) as relay, running(redis_url, relay.port) as (worker, harness):
        # When one invoice goes out through a long-running worker
        harness.ingest(one_invoice())
        outcome = "invoice_worker_recipient_outcomes_total"
        wait_for(
            lambda: (
                sum(
                    value(worker.metrics(), outcome, kind="invoice", state=s)
                    for s in ("accepted", "deferred", "rejected")
                )
                == 3
            )
        )
        wait_for(lambda: value(worker.metrics(), "invoice_worker_deliveries_retrying") == 1)
        metrics = worker.metrics()

    # Then /metrics counts one recipient of each outcome, and the replies by stage and class
    assert value(metrics, outcome, kind="invoice", state="accepted") == 1
    assert value(metrics, outcome, kind="invoice", state="deferred") == 1
    assert value(metrics, outcome, kind="invoice", state="rejected") == 1
    replies_total = "invoice_worker_smtp_replies_total"
    assert value(metrics, replies_total, stage="data", reply_class="2xx") == 1
    assert value(metrics, replies_total, stage="rcpt", reply_class="4xx") == 1
    assert value(metrics, replies_total, stage="rcpt", reply_class="5xx") == 1
    # one email built (in the account's locale, Dutch), rendered once, with its documents, in one send
    assert value(metrics, "invoice_worker_emails_built_total", kind="invoice", locale="nl-NL") == 1
    assert value(metrics, "invoice_worker_render_seconds_count", kind="invoice") == 1
    assert value(metrics, "invoice_worker_document_seconds_count", kind="invoice") == 1
    assert value(metrics, "invoice_worker_send_seconds_count") == 1
    # the deferred recipient's delivery waits for its retry; nothing else waits or was refused
    assert value(metrics, "invoice_worker_deliveries_retrying") == 1
    assert value(metrics, "invoice_worker_dead_letters") == 0
    assert value(metrics, "invoice_worker_parked_events") == 0
    assert value(metrics, "invoice_worker_redis_up") == 1
    assert value(metrics, "invoice_worker_events_total", type="service.activated", result="applied") == 1
    # dramatiq's own middleware counts the messages its actors processed
    assert value(metrics, "dramatiq_messages_total", queue_name="events", actor_name="apply_events") >= 1
    # and no label carries an address, an account or an invoice number
    labels = {v for (_, pairs) in metrics for _, v in pairs}
    assert not {v for v in labels if "@" in v or v.startswith(("INV-", "A-1", "O-1"))}


def test_readyz_follows_redis_away_and_back_while_healthz_stays_alive(durable_redis: DurableRedis) -> None:
    # Given a long-running worker, its Redis up and its relay answering
    with ScriptedSmtpServer() as relay, running(durable_redis.url(), relay.port) as (worker, _):
        status, body = worker.probe("/readyz")
        assert status == 200, body
        assert body["status"] == "ready"
        assert body["checks"]["redis"]["ok"] and "noeviction" in body["checks"]["redis"]["detail"]
        assert body["checks"]["relay"]["ok"]

        # When Redis stops
        durable_redis.stop()
        status, body = worker.probe("/readyz")
        # Then the worker is not ready, and says Redis does not answer
        assert status == 503 and body["status"] == "not ready"
        assert not body["checks"]["redis"]["ok"]
        assert "does not answer" in body["checks"]["redis"]["detail"]
        # but it is alive: an outage is not a stall (restarting it would not help)
        status, health = worker.probe("/healthz")
        assert status == 200, health

        # When Redis is back, it is ready again
        durable_redis.start()
        wait_for(lambda: worker.probe("/readyz")[0] == 200)
        # And the metrics say Redis was seen up again
        wait_for(lambda: value(worker.metrics(), "invoice_worker_redis_up") == 1)


def test_readyz_names_a_relay_that_is_down(redis_client, redis_url: str) -> None:
    # Given a relay that is stopped before the worker ever sent anything
    with ScriptedSmtpServer() as relay, running(redis_url, relay.port) as (worker, _):
        relay.down()
        # When the orchestrator asks whether the worker is ready
        status, body = worker.probe("/readyz")
        # Then it is not, the relay check says which relay and why, and Redis is fine
        assert status == 503
        assert not body["checks"]["relay"]["ok"]
        assert f"127.0.0.1:{relay.port}" in body["checks"]["relay"]["detail"]
        assert body["checks"]["redis"]["ok"]
        # When the relay is back, the probe (retrying a failed relay every few seconds) sees it
        relay.up()
        wait_for(lambda: worker.probe("/readyz")[0] == 200, timeout_s=20)


def test_a_metrics_port_in_use_is_refused_with_what_to_do(redis_client, redis_url: str) -> None:
    # Given a worker listening on a METRICS_PORT
    with ScriptedSmtpServer() as relay, running(redis_url, relay.port) as (worker, _):
        # When a second worker on the machine is given the same port
        settings = make_settings(redis_url, relay.port, metrics_port=worker.port, metrics_host="127.0.0.1")
        # Then it refuses to start, saying each process needs its own port
        with pytest.raises(MetricsPortInUse, match=f"METRICS_PORT {worker.port}.*its own METRICS_PORT"):
            run(Harness.build(settings, NOW).pipeline, burst=True, timeout_s=10)


def test_a_metrics_host_not_of_this_machine_is_refused_as_such_not_as_a_port_in_use(redis_client, redis_url) -> None:
    # Given a METRICS_HOST that is no address of this machine (TEST-NET-3)
    settings = make_settings(redis_url, 2525, metrics_port=find_free_port(), metrics_host="203.0.113.7")
    # When a worker starts, it refuses to, naming the host rather than blaming another process
    with pytest.raises(MetricsUnavailable, match="METRICS_HOST '203.0.113.7'") as refused:
        run(Harness.build(settings, NOW).pipeline, burst=True, timeout_s=10)
    assert not isinstance(refused.value, MetricsPortInUse)


def test_unknown_paths_are_404_with_the_known_ones(redis_client, redis_url: str) -> None:
    with ScriptedSmtpServer() as relay, running(redis_url, relay.port) as (worker, _):
        status, body = worker.probe("/status")
    assert status == 404
    assert body["paths"] == ["/metrics", "/healthz", "/readyz"]


def test_a_stalled_loop_is_not_alive_while_redis_answers(redis_client, redis_url: str) -> None:
    # Given a scheduler that last went round two minutes ago, and a Redis that answers
    probes = Probes(
        ServiceContext.from_settings(make_settings(redis_url, 2525)),
        {"scheduler": lambda: time.monotonic() - 120},
        stall_s=60,
    )
    try:
        # When the orchestrator asks whether the process is alive
        (check,) = probes.loops_health().values()
    finally:
        probes.close()
    # Then it is not: the loop is wedged, not waiting for Redis
    assert not check.ok and "stalled" in check.detail and "waiting" not in check.detail


def test_the_relay_probe_gives_up_on_a_relay_that_does_not_greet_within_its_limit(redis_url: str) -> None:
    # Given a relay that takes 3 s to greet, and a probe that gives a session half a second
    with ScriptedSmtpServer(stall_s=3.0, stall_stage="connect") as relay:
        app = ServiceContext.from_settings(make_settings(redis_url, relay.port, smtp_timeout_s=10.0))
        # When /readyz sets up a session itself
        asyncio.run(probe_relay(app, timeout_s=0.5))
    # Then the relay is recorded as failing, saying so, rather than the probe waiting 3 s and more
    last = app.relay_health.last
    assert last is not None and not last.ok and last.detail == "no session set up within 0.5 s"
