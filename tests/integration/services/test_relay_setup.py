"""A relay's ordinary rules, end to end (real Redis, real SMTP servers on loopback): a refusal of
the worker's own setup defers the email and raises an alert instead of rejecting the recipients,
and a relay that closes after each message still gets every message in one run."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, contract_example, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from tests.support.relay_rules import RelayRulesServer
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.cli.main import build_parser
from worker.domain.delivery import ALERT_AUTH_FAILED, ALERT_HELO_REFUSED
from worker.services.alerts import collect_alerts

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BILLING, DUNNING, RELATIONSHIP = "els@acme.example", "ar@acme.example", "jan@acme.example"
PASSWORD = "canary-smtp-password-41d9"


def recipients(harness) -> dict[str, dict]:
    (row,) = harness.status("INV-0000001")
    return {r["address"]: r for r in row["recipients"]}


def alert_counts(harness) -> dict[str, int]:
    alerts = asyncio.run(collect_alerts(harness.settings.redis_url or "", harness.settings.redis_prefix))
    return {a.name: a.count for a in alerts}


def alert_records(caplog, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.ERROR and f"ALERT {name}" in r.getMessage()]


def test_a_wrong_smtp_password_defers_every_recipient_and_raises_an_alert_until_it_is_fixed(
    redis_client, redis_url, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    # Given a relay that answers our login with 535 5.7.8 (it knows another password)
    with ScriptedSmtpServer(auth_credentials={"billing": "the-right-one"}, auth_require_tls=False) as relay:
        settings = make_settings(redis_url, relay.port, smtp_username="billing", smtp_password=PASSWORD)
        harness = Harness.build(settings, NOW)
        # When an invoice is sent
        harness.ingest(contract_example()[:3])
        harness.drain()
        # Then no recipient is rejected: all are deferred, to be retried, and none was sent
        states = recipients(harness)
        assert {r["state"] for r in states.values()} == {"deferred"}
        assert all(r["next_attempt_at"] and "SMTP_PASSWORD" in r["last_reply"] for r in states.values())
        assert relay.messages == []
        # And the alert is logged at ERROR with its name and the relay, never the password, and counted
        (record,) = alert_records(caplog, ALERT_AUTH_FAILED)
        assert f"127.0.0.1:{relay.port}" in record.getMessage() and "535" in record.getMessage()
        assert all(PASSWORD not in f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
        assert alert_counts(harness) == {ALERT_AUTH_FAILED: 1}
        # And the process's metrics count it by name, for the Prometheus alert
        setup_alerts = harness.pipeline.app.metrics.setup_alerts
        assert setup_alerts.labels(ALERT_AUTH_FAILED)._value.get() == 1
        # And `invoice-worker status` prints it under the deliveries (the command, in this process)
        args = build_parser().parse_args(["status"])
        assert args.func(args, settings) == 0
        printed = capsys.readouterr().out
        assert "alerts (the worker's own setup" in printed and "smtp_auth_failed" in printed
        # When the operator fixes the password on the relay's side and the retry falls due
        relay.auth_credentials = {"billing": PASSWORD}
        harness.clock.advance(seconds=400)
        harness.drain()
        # Then the same email goes out to all three, and the count stays where it was
        assert {r["state"] for r in recipients(harness).values()} == {"accepted"}
        (msg,) = relay.messages
        assert sorted(msg.rcpt_tos) == sorted([BILLING, DUNNING, RELATIONSHIP]) and msg.auth_login == "billing"
        assert alert_counts(harness) == {ALERT_AUTH_FAILED: 1}


def test_a_helo_name_the_relay_refuses_defers_the_email_and_raises_an_alert(redis_client, redis_url, caplog):
    caplog.set_level(logging.INFO)
    # Given a relay with Postfix's reject_non_fqdn_helo_hostname, and SMTP_HELO_NAME=localhost
    with RelayRulesServer(require_fqdn_helo=True) as relay:
        harness = Harness.build(make_settings(redis_url, relay.port, smtp_helo_name="localhost"), NOW)
        harness.ingest(contract_example()[:3])
        harness.drain()
        # Then every recipient is deferred with the 504 5.5.2, not rejected, and the alert is raised
        states = recipients(harness)
        assert {r["state"] for r in states.values()} == {"deferred"}
        assert all("504 5.5.2" in r["last_reply"] and "SMTP_HELO_NAME" in r["last_reply"] for r in states.values())
        assert len(alert_records(caplog, ALERT_HELO_REFUSED)) == 1
        assert alert_counts(harness) == {ALERT_HELO_REFUSED: 1}
        # When the relay is told to accept it (or the name is fixed) and the retry falls due
        relay.require_fqdn_helo = False
        harness.clock.advance(seconds=400)
        harness.drain()
        assert {r["state"] for r in recipients(harness).values()} == {"accepted"}


def test_with_a_fully_qualified_helo_name_the_strict_relay_takes_the_email_at_once(redis_client, redis_url):
    with RelayRulesServer(require_fqdn_helo=True) as relay:
        settings = make_settings(redis_url, relay.port, smtp_helo_name="mailer1.invoice-worker.example")
        harness = Harness.build(settings, NOW)
        harness.ingest(contract_example()[:3])
        harness.drain()
        assert {r["state"] for r in recipients(harness).values()} == {"accepted"}
        assert set(relay.helo_names) == {"mailer1.invoice-worker.example"}


def orders(count: int) -> list[dict]:
    """An account and `count` one-line orders, each activated: `count` invoices."""
    events = [account_updated()]
    for i in range(1, count + 1):
        events.append(order_booked(f"O-{i}", subscription_id=f"S-{i}", lines=[line("L1", f"Compute {i}")]))
        events.append(service_activated(f"O-{i}", "L1", "2026-11-01T09:00:00Z"))
    return events


@pytest.mark.parametrize("verp", [False, True], ids=["one transaction", "per recipient (VERP)"])
def test_a_relay_that_closes_with_421_after_each_message_gets_every_invoice_in_one_run(redis_client, redis_url, verp):
    # Given a relay that answers the next MAIL after each message with 421 and hangs up
    with RelayRulesServer(close_after_each_message=True) as relay:
        extra = {"bounce_secret": "s3cret-for-verp", "bounce_domain": "bounces.example"} if verp else {}
        harness = Harness.build(make_settings(redis_url, relay.port, smtp_connections=2, **extra), NOW)
        # When six invoices are sent in one run, the clock standing still (no retry can fall due)
        harness.ingest(orders(6))
        harness.drain()
        # Then every recipient of every invoice was accepted at the first attempt
        rows = harness.status()
        assert len(rows) == 6
        assert {(r["state"], r["attempts"]) for row in rows for r in row["recipients"]} == {("accepted", 1)}
        assert len(relay.messages) == (18 if verp else 6)
        assert relay.closing_replies >= 1


def test_a_wrong_password_for_many_invoices_is_one_error_line_and_every_attempt_counted(
    redis_client, redis_url, caplog
):
    caplog.set_level(logging.INFO)
    # Given a relay that refuses our login
    with ScriptedSmtpServer(auth_credentials={"billing": "the-right-one"}, auth_require_tls=False) as relay:
        settings = make_settings(redis_url, relay.port, smtp_username="billing", smtp_password=PASSWORD)
        harness = Harness.build(settings, NOW)
        # When six invoices are tried in one run
        harness.ingest(orders(6))
        harness.drain()
        # Then all six are deferred, the log holds one ERROR line for the alert, and all six count
        assert {r["state"] for row in harness.status() for r in row["recipients"]} == {"deferred"}
        assert len(alert_records(caplog, ALERT_AUTH_FAILED)) == 1
        assert alert_counts(harness) == {ALERT_AUTH_FAILED: 6}
        # When the retries fall due a minute and more later, still refused
        harness.clock.advance(seconds=400)
        harness.drain()
        # Then one more line says how many were held back since the first
        (_, again) = alert_records(caplog, ALERT_AUTH_FAILED)
        assert "5 more since the last line of this alert" in again.getMessage()
