"""Bounces that come back after the relay accepted the message: VERP return paths out, real DSN
files in through the real bounce listener, and what they do (suppression, resend, notice)."""

from __future__ import annotations

import smtplib
import socket
import threading
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import contract_example, service_activated
from tests.support.harness import Harness, make_settings
from tests.support.paths import FIXTURES
from worker.dev.local_smtp import find_free_port
from worker.errors import UnsafeBounceConfiguration
from worker.inbound.listener import BounceListener
from worker.runtime.runner import run

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BOUNCES = FIXTURES / "bounces"
SECRET = "test-bounce-secret-5f2c9a"
BILLING, DUNNING, RELATIONSHIP = "els@acme.example", "ar@acme.example", "jan@acme.example"


def bounce_settings(redis_url, smtp_port, **overrides):
    return make_settings(
        redis_url,
        smtp_port,
        bounce_secret=SECRET,
        bounce_domain="bounces.invoice-worker.example",
        bounce_resend_delay_s=600.0,
        bounce_resend_max=2,
        **overrides,
    )


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(bounce_settings(redis_url, smtp_server.port), NOW)


@pytest.fixture
def listener(harness):
    with BounceListener(harness.pipeline.app, host="127.0.0.1", port=find_free_port()) as server:
        yield server


def send_report(listener: BounceListener, return_path: str, fixture: str) -> None:
    """Deliver a bounce as a reporting MTA does: null sender, to the VERP return path."""
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.sendmail("<>", [return_path], report_bytes(fixture))


def report_bytes(fixture: str) -> bytes:
    # Files keep LF line ends; on the wire SMTP needs CRLF.
    return (BOUNCES / fixture).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def return_paths(smtp_server) -> dict[str, str]:
    """Recipient -> the envelope sender (VERP return path) its copy was sent with."""
    return {rcpt: m.mail_from for m in smtp_server.messages for rcpt in m.rcpt_tos}


def invoice_row(harness, number="INV-0000001"):
    (row,) = harness.status(number)
    return row, {r["address"]: r for r in row["recipients"]}


def test_every_recipient_gets_its_own_signed_return_path_and_the_same_message_id(harness, smtp_server):
    harness.ingest(contract_example()[:3])
    harness.drain()
    messages = smtp_server.messages
    assert sorted(r for m in messages for r in m.rcpt_tos) == sorted([BILLING, DUNNING, RELATIONSHIP])
    assert all(len(m.rcpt_tos) == 1 for m in messages)
    assert all(
        m.mail_from.startswith("bounces+") and m.mail_from.endswith("@bounces.invoice-worker.example") for m in messages
    )
    assert len({m.mail_from for m in messages}) == 3
    assert len({m.message["Message-ID"] for m in messages}) == 1
    # the header recipients are unchanged: everyone sees To the billing contact, Cc the others
    assert BILLING in messages[0].message["To"] and DUNNING in messages[0].message["Cc"]


def test_a_permanent_bounce_of_the_billing_contact_suppresses_it_and_tells_the_account_contacts_once(
    harness, smtp_server, listener
):
    # Given an invoice accepted by the relay for all three recipients
    harness.ingest(contract_example()[:3])
    harness.drain()
    paths = return_paths(smtp_server)
    smtp_server.clear()
    # When the billing contact's mailbox server sends back a Postfix DSN "5.1.1 user unknown"
    send_report(listener, paths[BILLING], "postfix_user_unknown.eml")
    # Then the recipient is bounced, with the DSN status in its history
    row, recipients = invoice_row(harness)
    assert recipients[BILLING]["state"] == "bounced" and "5.1.1" in recipients[BILLING]["last_reply"]
    assert recipients[DUNNING]["state"] == "accepted"
    (bounce,) = [h["bounce"] for h in row["history"] if "bounce" in h]
    assert bounce["status"] == "5.1.1" and bounce["action"] == "failed" and "suppressed" in bounce["effect"]
    # and the account contacts get a short Dutch notice, without amounts
    harness.drain()
    notices = {m.rcpt_tos[0]: m for m in smtp_server.messages}
    assert set(notices) == {DUNNING, RELATIONSHIP}
    notice = notices[RELATIONSHIP].message
    text = notice.get_body(("plain",)).get_content()
    assert notice["Content-Language"] == "nl-NL" and BILLING in notice["Subject"]
    assert "Beste Jan Jansen" in text and BILLING in text and "5.1.1" in text
    assert "29.040" not in text and "USD" not in text
    kinds = {r["delivery"]: r for r in harness.status()}
    assert sum(1 for d in kinds if d.startswith("bounce_notice:")) == 2
    # When the same address bounces again (the same report redelivered, and a later invoice's bounce)
    send_report(listener, paths[BILLING], "postfix_user_unknown.eml")
    harness.ingest([service_activated("O-1", "L2", "2026-11-21T11:00:00Z")])
    harness.drain()
    # Then the later invoice is not sent to the suppressed address, and no second notice goes out
    _, second = invoice_row(harness, "INV-0000002")
    assert second[BILLING]["state"] == "suppressed" and "suppressed until" in second[BILLING]["last_reply"]
    assert second[DUNNING]["state"] == "accepted"
    assert smtp_server.received_by(BILLING) == []
    assert sum(1 for r in harness.status() if r["kind"] == "bounce_notice") == 2


def test_a_temporary_failure_report_resends_later_with_the_same_message_id(
    harness, smtp_server, listener, redis_client
):
    harness.ingest(contract_example()[:3])
    harness.drain()
    paths = return_paths(smtp_server)
    first_id = smtp_server.received_by(BILLING)[0].message["Message-ID"]
    # When Exchange reports "failed 4.4.7 message expired"
    send_report(listener, paths[BILLING], "exchange_expired.eml")
    _, recipients = invoice_row(harness)
    assert recipients[BILLING]["state"] == "deferred" and "4.4.7" in recipients[BILLING]["last_reply"]
    # and the delivery counts as waiting for a retry (the operators' deferred backlog)
    assert redis_client.zcard("iw:deliveries-retrying") == 1
    # Then nothing is resent before the resend delay, and once after it
    harness.drain()
    assert len(smtp_server.received_by(BILLING)) == 1
    harness.clock.advance(seconds=601)
    harness.drain()
    again = smtp_server.received_by(BILLING)
    assert len(again) == 2 and again[1].message["Message-ID"] == first_id
    assert len(smtp_server.received_by(DUNNING)) == 1  # the others are not sent a second copy
    assert invoice_row(harness)[1][BILLING]["state"] == "accepted"
    assert redis_client.zcard("iw:deliveries-retrying") == 0


def test_delayed_reports_and_auto_replies_are_recorded_but_change_nothing(harness, smtp_server, listener):
    harness.ingest(contract_example()[:3])
    harness.drain()
    paths = return_paths(smtp_server)
    send_report(listener, paths[BILLING], "postfix_delayed.eml")
    send_report(listener, paths[BILLING], "out_of_office.eml")
    row, recipients = invoice_row(harness)
    assert recipients[BILLING]["state"] == "accepted"
    effects = [h["bounce"]["effect"] for h in row["history"] if "bounce" in h]
    assert effects == ["recorded", "auto-reply: not a bounce"]
    assert harness.status()[0]["kind"] == "invoice" and len(harness.status()) == 1


def test_a_non_standard_qmail_bounce_is_understood(harness, smtp_server, listener):
    harness.ingest(contract_example()[:3])
    harness.drain()
    send_report(listener, return_paths(smtp_server)[DUNNING], "qmail_failure.eml")
    # the token names the recipient (ar@), whatever address the report's text quotes
    _, recipients = invoice_row(harness)
    assert recipients[DUNNING]["state"] == "bounced" and recipients[BILLING]["state"] == "accepted"
    # a Cc contact bouncing sends no notice: only the billing contact's does
    assert [r["kind"] for r in harness.status()] == ["invoice"]


def test_a_forged_return_path_is_refused_in_the_smtp_session(harness, smtp_server, listener):
    harness.ingest(contract_example()[:3])
    harness.drain()
    genuine = return_paths(smtp_server)[BILLING]
    local, _, domain = genuine.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    for address in (forged, "postmaster@bounces.invoice-worker.example"):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send_report(listener, address, "postfix_user_unknown.eml")
    assert invoice_row(harness)[1][BILLING]["state"] == "accepted"


def test_run_refuses_a_bounce_listener_without_a_secret(redis_client, redis_url, smtp_server):
    settings = make_settings(redis_url, smtp_server.port, bounces_port=find_free_port())
    with pytest.raises(UnsafeBounceConfiguration, match="BOUNCE_SECRET"):
        run(Harness.build(settings, NOW).pipeline, burst=True, timeout_s=10)


def test_run_with_a_bounces_port_listens_for_bounces(redis_client, redis_url, smtp_server):
    port = find_free_port()
    h = Harness.build(bounce_settings(redis_url, smtp_server.port, bounces_port=port), NOW)
    h.ingest(contract_example()[:3])
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(h.pipeline,), kwargs={"stop": stop})
    thread.start()
    try:
        smtp_server.wait_for_messages(3, timeout_s=20)
        rcpt = next(m.mail_from for m in smtp_server.messages if m.rcpt_tos == (BILLING,))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("<>", [rcpt], report_bytes("postfix_user_unknown.eml"))
    finally:
        stop.set()
        thread.join(30)
    states = {r["address"]: r["state"] for r in h.status("INV-0000001")[0]["recipients"]}
    assert states[BILLING] == "bounced"


def test_the_bounces_command_listens_and_refuses_to_start_without_a_secret(redis_client, redis_url, smtp_server):
    import subprocess

    from tests.support.cli import CLI, cli_env, invoke, jsonl

    env = cli_env(redis_url, smtp_server.port, BOUNCE_SECRET=SECRET, BOUNCE_DOMAIN="bounces.invoice-worker.example")
    port = find_free_port()
    refused = invoke(["bounces"], {**env, "BOUNCE_SECRET": "", "BOUNCES_PORT": str(port)})
    assert refused.returncode == 2 and "BOUNCE_SECRET" in refused.stderr
    invoke(["ingest", "-"], env, stdin=jsonl(contract_example()[:3]))
    assert invoke(["run", "--burst"], env).returncode == 0
    listener = subprocess.Popen(
        CLI + ["bounces"],
        env={**env, "BOUNCES_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert "bounce listener on" in listener.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.sendmail("<>", [return_paths(smtp_server)[BILLING]], report_bytes("postfix_user_unknown.eml"))
    finally:
        listener.terminate()
        listener.wait(10)
    assert listener.returncode == 0
    listed = invoke(["suppression", "list"], env).stdout
    assert BILLING in listed and "5.1.1" in listed


def test_a_bounces_port_in_use_stops_the_start_up_and_leaves_no_metrics_server_behind(
    redis_client, redis_url, smtp_server
):
    # Given a BOUNCES_PORT another process holds, and a METRICS_PORT
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        metrics_port = find_free_port()
        settings = bounce_settings(
            redis_url,
            smtp_server.port,
            bounces_port=taken.getsockname()[1],
            metrics_port=metrics_port,
            metrics_host="127.0.0.1",
        )
        # When a worker starts, it refuses to
        with pytest.raises(OSError, match="(?i)address already in use|errno 98"):
            run(Harness.build(settings, NOW).pipeline)
    # Then its metrics port is free again: the probes' server was stopped with the start-up
    with socket.socket() as again:
        again.bind(("127.0.0.1", metrics_port))
