"""The SMTP client against real SMTP servers on loopback that apply a relay's rules: the name it
greets with, each refusal reported with the stage it answered, and 421 met with a fresh
connection at once instead of a retry hours later."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.relay_rules import RelayRulesServer
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.domain.delivery import ALERT_AUTH_FAILED, ALERT_HELO_REFUSED, ALERT_TLS_FAILED, SmtpStage, classify_reply
from worker.errors import UnsafeSmtpConfiguration
from worker.transport.smtp import SmtpConfig, SmtpSender, is_fqdn

MAIL_FROM = "billing@invoice-worker.example"
MESSAGE = b"From: billing@invoice-worker.example\r\nTo: els@acme.example\r\nSubject: t\r\n\r\nbody\r\n"
PASSWORD = "canary-password-7f3e"


def send_all(config: SmtpConfig, batches: list[list[str]]):
    """Send MESSAGE once per batch of recipients, one after another, through one sender."""

    async def scenario():
        sender = SmtpSender(config)
        try:
            return [await sender.send(MAIL_FROM, rcpts, MESSAGE) for rcpts in batches]
        finally:
            await sender.close()

    return asyncio.run(scenario())


def test_the_helo_name_is_the_configured_one():
    # Given a relay that refuses names that are not fully qualified, and SMTP_HELO_NAME set
    with RelayRulesServer(require_fqdn_helo=True) as relay:
        config = SmtpConfig("127.0.0.1", relay.port, helo_name="mailer1.invoice-worker.example")
        (result,) = send_all(config, [["els@acme.example"]])
        # Then the relay was greeted with it and took the message
        assert relay.helo_names == ["mailer1.invoice-worker.example"]
        assert result.replies["els@acme.example"].code == 250 and len(relay.messages) == 1


def test_a_refused_helo_name_is_a_refusal_at_the_helo_stage_and_nothing_is_sent():
    # Given a relay with Postfix's reject_non_fqdn_helo_hostname, and this host's name "localhost"
    with RelayRulesServer(require_fqdn_helo=True) as relay:
        (result,) = send_all(SmtpConfig("127.0.0.1", relay.port, helo_name="localhost"), [["els@acme.example"]])
        reply = result.replies["els@acme.example"]
        # Then EHLO then HELO were refused with 504 5.5.2, and the reply says it was our HELO
        assert relay.helo_names == ["localhost", "localhost"] and relay.messages == []
        assert (reply.code, reply.stage) == (504, SmtpStage.HELO) and "5.5.2" in reply.message
        assert classify_reply(reply).alert == ALERT_HELO_REFUSED


def test_a_wrong_password_is_a_refusal_at_the_auth_stage_without_the_password():
    # Given a relay that knows another password for our login
    with ScriptedSmtpServer(auth_credentials={"billing": "the-right-one"}, auth_require_tls=False) as relay:
        config = SmtpConfig("127.0.0.1", relay.port, username="billing", password=PASSWORD)
        (result,) = send_all(config, [["els@acme.example", "jan@acme.example"]])
        # Then every recipient gets the relay's 535 at the AUTH stage, and no message went out
        assert relay.messages == []
        for reply in result.replies.values():
            assert (reply.code, reply.stage) == (535, SmtpStage.AUTH)
            assert classify_reply(reply).alert == ALERT_AUTH_FAILED and PASSWORD not in str(reply)


def test_starttls_asked_for_and_not_offered_is_a_tls_refusal_not_a_plaintext_send():
    # Given SMTP_TLS=starttls and a relay that offers no STARTTLS
    with ScriptedSmtpServer() as relay:
        (result,) = send_all(SmtpConfig("127.0.0.1", relay.port, tls="starttls"), [["els@acme.example"]])
        reply = result.replies["els@acme.example"]
        # Then nothing is sent in plaintext; the reply is a TLS failure
        assert relay.messages == []
        assert reply.stage is SmtpStage.TLS and "STARTTLS" in reply.message
        assert classify_reply(reply).alert == ALERT_TLS_FAILED


def test_a_certificate_that_does_not_verify_is_a_tls_refusal(tls_material):
    # Given a relay whose certificate is signed by a CA the worker does not trust (the system store)
    with ScriptedSmtpServer(tls_context=tls_material.server_context, require_starttls=True) as relay:
        (result,) = send_all(SmtpConfig("127.0.0.1", relay.port, tls="starttls"), [["els@acme.example"]])
        reply = result.replies["els@acme.example"]
        assert relay.messages == []
        assert reply.stage is SmtpStage.TLS and "certificate" in reply.message.lower()
        assert classify_reply(reply).alert == ALERT_TLS_FAILED


def test_implicit_tls_verifies_the_certificate_and_a_failure_is_a_tls_refusal(tls_material):
    # Given a relay speaking TLS from the first byte (port 465 style)
    with RelayRulesServer(implicit_tls_context=tls_material.server_context) as relay:
        # When the worker does not trust its CA (the system store), nothing is sent: a TLS refusal
        (refused,) = send_all(SmtpConfig("127.0.0.1", relay.port, tls="tls"), [["els@acme.example"]])
        reply = refused.replies["els@acme.example"]
        assert reply.stage is SmtpStage.TLS and "certificate" in reply.message.lower()
        assert classify_reply(reply).alert == ALERT_TLS_FAILED and relay.messages == []
        # And with SMTP_CA_FILE naming that CA, the message goes out over TLS
        trusted = SmtpConfig("127.0.0.1", relay.port, tls="tls", ca_file=str(tls_material.ca_path))
        (sent,) = send_all(trusted, [["els@acme.example"]])
        assert sent.replies["els@acme.example"].code == 250 and len(relay.messages) == 1


def test_a_relay_that_closes_with_421_after_each_message_gets_every_message_on_a_fresh_connection():
    # Given a relay that answers the next MAIL after each message with 421 and hangs up,
    # and a sender with a single connection
    with RelayRulesServer(close_after_each_message=True) as relay:
        config = SmtpConfig("127.0.0.1", relay.port, connections=1, helo_name="mailer1.invoice-worker.example")
        # When five messages are sent one after the other
        results = send_all(config, [[f"r{i}@acme.example"] for i in range(5)])
        # Then each was accepted on the first call: the 421 made the sender reconnect at once
        assert [r.replies[f"r{i}@acme.example"].code for i, r in enumerate(results)] == [250] * 5
        assert len(relay.messages) == 5
        assert relay.closing_replies == 4 and len(relay.helo_names) == 5


def test_a_relay_that_keeps_answering_421_is_tried_once_more_then_deferred():
    # Given a relay that answers every EHLO and HELO with 421 (shedding load)
    with RelayRulesServer(helo_reply="421 4.7.0 Too many connections, try later") as relay:
        (result,) = send_all(SmtpConfig("127.0.0.1", relay.port), [["els@acme.example"]])
        reply = result.replies["els@acme.example"]
        # Then the sender reconnected once at once, then gave the 421 back (deferred, no alert)
        assert len(relay.helo_names) == 2
        assert reply.code == 421 and classify_reply(reply).alert is None
        assert classify_reply(reply).outcome == "deferred"


@pytest.mark.parametrize(
    ("name", "fqdn"),
    [
        ("mailer1.invoice-worker.example", True),
        ("mail.example.com.", True),
        ("[192.0.2.10]", True),
        ("localhost", False),
        ("localhost.localdomain", False),
        ("worker-7f9c", False),
        ("-bad.example", False),
        ("192.0.2.10", False),
    ],
)
def test_fully_qualified_names(name, fqdn):
    assert is_fqdn(name) is fqdn


def test_a_non_fqdn_helo_name_towards_a_remote_relay_is_refused_at_start_up_with_the_fix():
    # Given a relay that is not on loopback and a HELO name that is not fully qualified
    for helo in ("localhost", "worker-7f9c"):
        with pytest.raises(UnsafeSmtpConfiguration, match="SMTP_HELO_NAME") as refused:
            SmtpConfig("smtp.relay.example", 587, tls="starttls", helo_name=helo).check()
        assert "504 5.5.2" in str(refused.value)
    # But a fully qualified one is fine, and so is "localhost" towards a loopback relay
    SmtpConfig("smtp.relay.example", 587, tls="starttls", helo_name="mailer1.example.com").check()
    SmtpConfig("127.0.0.1", 25, helo_name="localhost").check()
    # And an IDN is sent in punycode
    assert (
        SmtpConfig("127.0.0.1", 25, helo_name="mailer.bücher.example").local_hostname == "mailer.xn--bcher-kva.example"
    )
