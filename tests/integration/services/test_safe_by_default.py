"""Safe by default: verified TLS, no credentials in plaintext, no header injection, encoded
names and domains, SMTPUTF8 honoured, escaped templates, https-only links, and secrets that never
reach a log line or Redis. Real SMTP servers (with a throwaway CA), a real Redis."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import contract_example
from tests.support.harness import Harness, make_settings
from tests.support.redis_dump import everything_in_redis
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.cli.log_format import LOG_FORMAT, JsonFormatter, OneLineFormatter
from worker.domain.delivery import Outcome, RecipientState, classify_reply
from worker.domain.model import Contact, Recipients, RenderedEmail
from worker.emails.mime import build_message, envelope_address
from worker.emails.rendering import https_url, render
from worker.errors import HeaderInjection, UnsafeSmtpConfiguration
from worker.services.context import ServiceContext
from worker.services.sending import deliver
from worker.transport.smtp import SmtpConfig, SmtpSender

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CANARY = "canary-pw-7d1e0b9f"
BOUNCE_CANARY = "canary-bounce-4a8c2e"


def build(recipients: Recipients, subject: str = "Invoice INV-1") -> bytes:
    rendered = RenderedEmail(kind="invoice", locale="en-US", subject=subject, text="hi\n", html="<p>hi</p>")
    return build_message(
        rendered,
        recipients,
        mail_from="Billing <billing@invoice-worker.example>",
        message_id="<x@invoice-worker.example>",
        sent_at=NOW,
    )


# -- TLS and credentials -------------------------------------------------------------------------


@pytest.fixture
def tls_server(tls_material):
    with ScriptedSmtpServer(
        tls_context=tls_material.server_context,
        require_starttls=True,
        auth_credentials={"billing": CANARY},
        auth_required=True,
    ) as server:
        yield server


def starttls_settings(redis_url, port, **overrides):
    return make_settings(
        redis_url, port, smtp_tls="starttls", smtp_username="billing", smtp_password=CANARY, **overrides
    )


def test_starttls_verified_against_the_ca_delivers_with_auth(redis_client, redis_url, tls_server, tls_material):
    harness = Harness.build(starttls_settings(redis_url, tls_server.port, smtp_ca_file=tls_material.ca_path), NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    (msg,) = tls_server.messages
    assert msg.tls and msg.auth_login == "billing"


def test_a_certificate_the_worker_cannot_verify_is_refused_and_nothing_is_sent(redis_client, redis_url, tls_server):
    # Given the relay's certificate is signed by a CA the worker does not trust (the system store)
    harness = Harness.build(starttls_settings(redis_url, tls_server.port), NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    # Then the handshake fails, nothing (and no password) went out, and it is retried later
    assert tls_server.messages == []
    (row,) = harness.status()
    assert {r["state"] for r in row["recipients"]} == {"deferred"}
    assert all(
        "CERTIFICATE_VERIFY_FAILED" in r["last_reply"] or "certificate" in r["last_reply"].lower()
        for r in row["recipients"]
    )


@pytest.mark.parametrize("host", ["smtp.relay.example", "192.0.2.25"])
def test_credentials_are_never_configured_for_plaintext_to_a_remote_host(redis_url, host):
    with pytest.raises(UnsafeSmtpConfiguration, match="plaintext"):
        SmtpConfig(host=host, port=25, tls="none", username="billing", password=CANARY).check()
    settings = make_settings(redis_url, 25, smtp_host=host, smtp_username="billing", smtp_password=CANARY)
    with pytest.raises(UnsafeSmtpConfiguration):
        ServiceContext.from_settings(settings)
    # explicit STARTTLS is fine, and so is loopback (a local relay)
    SmtpConfig(
        host=host, port=587, tls="starttls", username="billing", password=CANARY, helo_name="mailer.example.com"
    ).check()
    SmtpConfig(host="127.0.0.1", port=25, tls="none", username="billing", password=CANARY).check()


def test_the_password_does_not_show_in_the_config_repr():
    assert CANARY not in repr(SmtpConfig(host="h", port=25, tls="tls", username="u", password=CANARY))


# -- header injection, encodings, SMTPUTF8 -------------------------------------------------------


@pytest.mark.parametrize(
    ("recipients", "subject", "header"),
    [
        (Recipients(to=(Contact("Els\r\nBcc: evil@x.example", "els@acme.example"),)), "Invoice", "To"),
        (
            Recipients(to=(Contact("Els", "els@acme.example"),), cc=(Contact("Jan\nX", "jan@acme.example"),)),
            "Invoice",
            "Cc",
        ),
        (Recipients(to=(Contact("Els", "els@acme.example"),)), "Invoice\r\nBcc: evil@x.example", "Subject"),
        (Recipients(to=(Contact("Els", "els@acme.example\r\nBcc: evil@x.example"),)), "Invoice", "address"),
        (Recipients(to=(Contact("Els\u2028", "els@acme.example"),)), "Invoice", "To"),
    ],
)
def test_a_line_break_in_a_name_subject_or_address_is_refused_with_the_header_named(recipients, subject, header):
    with pytest.raises(HeaderInjection, match=f"line break in the {header} header refused"):
        build(recipients, subject)


def test_a_header_injection_fails_the_delivery_before_any_network_io(redis_client, redis_url, smtp_server):
    # Given a relay that is down (any connection attempt would show as "deferred")
    smtp_server.down()
    harness = Harness.build(make_settings(redis_url, smtp_server.port), NOW)
    app = harness.pipeline.app
    bad = {"name": "Jan\r\nBcc: evil@x.example", "email": "jan@acme.example"}

    async def scenario():
        await app.store.deliveries.create_delivery(
            "bounce_notice:test",
            kind="bounce_notice",
            key="els@acme.example",
            recipients={"to": [bad], "cc": []},
            locale="en-US",
            context={
                "recipient": bad,
                "bounced_address": "els@acme.example",
                "account_name": "Acme",
                "status": "5.1.1",
                "reported_on": "2026-11-21",
            },
            states={"jan@acme.example": RecipientState(address="jan@acme.example", role="to")},
            now=NOW,
        )
        lease = await app.store.due.claim_member("deliver:bounce_notice:test", NOW.timestamp(), 60)
        result = await deliver(app, "bounce_notice:test", lease)
        await app.aclose()
        return result

    # When it is delivered, then it fails permanently with a clear reason, never deferred
    assert asyncio.run(scenario()) == {"jan@acme.example": Outcome.FAILED}
    (row,) = harness.status()
    assert "line break in the To header refused" in row["recipients"][0]["last_reply"]


def test_non_ascii_names_are_rfc2047_encoded_and_idn_domains_become_punycode():
    raw = build(Recipients(to=(Contact("Zoë Ünal", "zoe@bücher.example"),)))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()
    assert b"=?utf-8?" in headers and b"zoe@xn--bcher-kva.example" in headers
    assert envelope_address("zoe@bücher.example") == "zoe@xn--bcher-kva.example"


@pytest.mark.parametrize("smtputf8", [True, False])
def test_a_non_ascii_local_part_needs_smtputf8_else_it_fails_permanently(smtputf8):
    with ScriptedSmtpServer(smtputf8=smtputf8) as server:

        async def send():
            sender = SmtpSender(SmtpConfig(host="127.0.0.1", port=server.port, timeout_s=5))
            try:
                return await sender.send(
                    "billing@invoice-worker.example", ["jürgen@acme.example"], b"Subject: x\r\n\r\nx\r\n"
                )
            finally:
                await sender.close()

        reply = asyncio.run(send()).replies["jürgen@acme.example"]
    if smtputf8:
        assert classify_reply(reply).outcome is Outcome.ACCEPTED
        assert server.messages[0].mail_options == ("SMTPUTF8",)
    else:
        assert reply.code == 553 and classify_reply(reply).outcome is Outcome.REJECTED
        assert server.messages == []


# -- templates -----------------------------------------------------------------------------------


def test_templates_escape_what_customers_and_producers_supply():
    context = {
        "recipient": Contact("<b>Jan</b>", "jan@acme.example"),
        "bounced_address": "x@acme.example",
        "account_name": "<script>alert(1)</script>",
        "status": "5.1.1",
        "reported_on": NOW.date(),
    }
    email = render("bounce_notice", context, "en-US")
    assert "<script>alert(1)" not in email.html and "&lt;script&gt;alert(1)" in email.html
    assert "<b>Jan</b>" not in email.html and "&lt;b&gt;Jan" in email.html


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://portal.invoice-worker.example/pay?i=1", True),
        ("http://portal.example/", False),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,x", False),
        ("//evil.example/", False),
        ("https://", False),
        ("https://a.example/\nx", False),
        ("", False),
    ],
)
def test_only_https_links_are_rendered(url, kept):
    assert https_url(url) == (url if kept else "")


# -- secrets canary ------------------------------------------------------------------------------


def test_the_smtp_password_and_bounce_secret_appear_in_no_log_line_and_no_redis_key(
    redis_client, redis_url, tls_server, tls_material, caplog
):
    # Given AUTH over STARTTLS with a canary password, VERP with a canary secret, DEBUG logging
    caplog.set_level(logging.DEBUG)
    settings = starttls_settings(
        redis_url,
        tls_server.port,
        smtp_ca_file=tls_material.ca_path,
        bounce_secret=BOUNCE_CANARY,
        bounce_domain="bounces.invoice-worker.example",
    )
    harness = Harness.build(settings, NOW)
    # When a full run delivers, with a failed first attempt too (tracebacks and retries logged)
    tls_server.data_replies = ["451 4.3.0 try later"]
    harness.ingest(contract_example())
    harness.drain()
    harness.clock.advance(seconds=400)
    harness.drain()
    assert len(tls_server.messages) == 6 and all(m.auth_login == "billing" for m in tls_server.messages)
    # Then neither secret, nor its base64 form as AUTH sends it, is in any log line or Redis
    forms = [
        CANARY,
        BOUNCE_CANARY,
        base64.b64encode(b"\0billing\0" + CANARY.encode()).decode(),
        base64.b64encode(CANARY.encode()).decode(),
    ]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    # ... nor in the lines either log format writes (LOG_FORMAT=text or json)
    logged += "\n".join(
        fmt.format(r) for r in caplog.records for fmt in (OneLineFormatter(LOG_FORMAT), JsonFormatter())
    )
    assert len(caplog.records) > 20  # DEBUG really was captured
    for form in forms:
        assert form not in logged
    dump = everything_in_redis(redis_client)
    assert b"bounces+" in dump or b"iw:delivery" in dump  # the scan did see the run's keys
    for form in forms:
        assert form.encode() not in dump
