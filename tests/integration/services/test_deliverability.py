"""Deliverability, end to end (real Redis, real SMTP server and bounce listener on loopback): DKIM
signatures that verify over the bytes the relay received, on every retry the same bytes;
Message-IDs that differ between installations and stay put across retries; VERP return paths
within RFC 5321's 64 octets; and mailbox full, as a DSN, resent instead of suppressed."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.contract_events import account_updated, contact, contract_example, order_booked
from tests.support.dkim_keys import DOMAIN, SELECTOR, make_dkim_key, verify
from tests.support.harness import Harness, make_settings
from tests.support.paths import FIXTURES
from tests.support.redis_dump import everything_in_redis
from worker.dev.local_smtp import find_free_port
from worker.domain.verp import MAX_LOCAL_PART_OCTETS
from worker.emails.dkim import DkimConfigurationError
from worker.emails.mime import MAX_HEADER_LINE
from worker.inbound.listener import BounceListener
from worker.services.context import ServiceContext

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BILLING, DUNNING, RELATIONSHIP = "els@acme.example", "ar@acme.example", "jan@acme.example"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory) -> tuple[Path, bytes]:
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


def header_lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_dkim_signed_invoice_verifies_as_received_and_a_retry_sends_the_same_bytes(
    redis_client, redis_url, smtp_server, dkim_key, caplog
):
    caplog.set_level(logging.DEBUG)
    path, record = dkim_key
    settings = make_settings(
        redis_url, smtp_server.port, dkim_domain=DOMAIN, dkim_selector=SELECTOR, dkim_private_key_file=path
    )
    harness = Harness.build(settings, NOW)
    # Given a relay that takes the billing contact and defers the dunning contact (mailbox full)
    smtp_server.reply_for_rcpt = {DUNNING: "452 4.2.2 Mailbox full"}
    harness.ingest(contract_example()[:3])
    harness.drain()
    (first,) = smtp_server.messages
    # Then the message, exactly as the server received it, carries a signature that verifies
    assert first.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=invoice-worker.example;")
    assert verify(first.data, record)
    # And every header line keeps within 78 octets, the Message-ID on one line
    assert max(len(line) for line in header_lines(first.data)) <= MAX_HEADER_LINE
    (mid_line,) = [line for line in header_lines(first.data) if line.startswith(b"Message-ID:")]
    assert mid_line == b"Message-ID: " + first.message["Message-ID"].encode()
    assert first.message["Auto-Submitted"] == "auto-generated"
    # When the deferred recipient's retry falls due
    smtp_server.reply_for_rcpt = {}
    harness.clock.advance(seconds=400)
    harness.drain()
    # Then the retry is the very same bytes (signed once, when built), and verifies too
    second = smtp_server.messages[1]
    assert second.rcpt_tos == (DUNNING,)
    assert second.data == first.data and verify(second.data, record)
    # And the private key is in no log record and nowhere in Redis
    key_lines = [line for line in path.read_text().splitlines() if "PRIVATE KEY" not in line]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    dump = everything_in_redis(redis_client)
    assert len(caplog.records) > 10 and b"iw:delivery" in dump
    assert not any(line in logged or line.encode() in dump for line in key_lines)


def test_a_partial_or_unusable_dkim_configuration_is_refused_at_start_up(redis_url, tmp_path, dkim_key):
    path, _ = dkim_key
    # Given only the domain and the selector: the missing setting is named
    with pytest.raises(DkimConfigurationError, match="not DKIM_PRIVATE_KEY_FILE"):
        ServiceContext.from_settings(make_settings(redis_url, 25, dkim_domain=DOMAIN, dkim_selector=SELECTOR))
    # Given only the key file: the two missing ones are named
    with pytest.raises(DkimConfigurationError, match="not DKIM_DOMAIN, DKIM_SELECTOR"):
        ServiceContext.from_settings(make_settings(redis_url, 25, dkim_private_key_file=path))
    # Given all three but a file that is not there, or not a key: refused, naming the file
    for bad in (tmp_path / "missing.pem", tmp_path / "garbage.pem"):
        if bad.name == "garbage.pem":
            bad.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
        full = {"dkim_domain": DOMAIN, "dkim_selector": SELECTOR, "dkim_private_key_file": bad}
        with pytest.raises(DkimConfigurationError, match=f"DKIM_PRIVATE_KEY_FILE {bad}"):
            ServiceContext.from_settings(make_settings(redis_url, 25, **full))
    # And no DKIM setting at all: messages go out unsigned
    assert ServiceContext.from_settings(make_settings(redis_url, 25)).policy.dkim is None


def test_two_installations_give_the_same_invoice_number_different_message_ids(redis_client, redis_url, smtp_server):
    # Given two installations (two key prefixes: two Redis databases in effect), the same events
    # and the same clock, so each numbers its first invoice INV-0000001 at the same instant
    ids = []
    for prefix in ("iwa", "iwb"):
        harness = Harness.build(make_settings(redis_url, smtp_server.port, redis_prefix=prefix), NOW)
        harness.ingest(contract_example()[:3])
        harness.drain()
        (row,) = harness.status("INV-0000001")
        ids.append(row["message_id"])
    # Then the two invoices' Message-IDs differ, and each message carries its own
    assert ids[0] != ids[1]
    assert [m.message["Message-ID"] for m in smtp_server.messages] == ids
    # And after a Redis reset, the invoice numbered INV-0000001 again gets yet another one
    redis_client.flushdb()
    harness = Harness.build(make_settings(redis_url, smtp_server.port, redis_prefix="iwa"), NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    (row,) = harness.status("INV-0000001")
    assert row["message_id"] not in ids


BOUNCE_SETTINGS = {
    "bounce_secret": "test-bounce-secret-5f2c9a",
    "bounce_domain": "bounces.invoice-worker.example",
    "bounce_resend_delay_s": 600.0,
}
LONG_BILLING = "els.de.vries.accounts-payable.department.finance" + "x" * 16 + "@" + "d" * 60 + ".acme-holding.example"


def long_address_events() -> list[dict]:
    billing = contact("Els de Vries", LONG_BILLING, "nl-NL")
    return [account_updated(), order_booked(billing_contact=billing), *contract_example()[2:3]]


@pytest.fixture
def bounce_harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port, **BOUNCE_SETTINGS), NOW)


@pytest.fixture
def listener(bounce_harness):
    with BounceListener(bounce_harness.pipeline.app, host="127.0.0.1", port=find_free_port()) as server:
        yield server


def send_report(listener: BounceListener, return_path: str, fixture: str, recipient: str) -> None:
    raw = (FIXTURES / "bounces" / fixture).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with smtplib.SMTP("127.0.0.1", listener.port, timeout=10) as client:
        client.sendmail("<>", [return_path], raw.replace(b"els@acme.example", recipient.encode()))


def test_every_return_path_fits_in_64_octets_however_long_the_address(bounce_harness, smtp_server, listener):
    # Given a billing contact whose address has a 64-octet local part and a long domain
    assert len(LONG_BILLING.split("@")[0]) == 64
    bounce_harness.ingest(long_address_events())
    bounce_harness.drain()
    # Then each copy's return path has a local part of at most 64 octets, each its own
    paths = {m.rcpt_tos[0]: m.mail_from for m in smtp_server.messages}
    assert set(paths) == {LONG_BILLING, DUNNING, RELATIONSHIP}
    assert all(len(p.rpartition("@")[0].encode()) <= MAX_LOCAL_PART_OCTETS for p in paths.values())
    assert len(set(paths.values())) == 3
    # And a bounce to it still names delivery and recipient: a 5.1.1 bounces that address only
    send_report(listener, paths[LONG_BILLING], "postfix_user_unknown.eml", LONG_BILLING)
    (row,) = bounce_harness.status("INV-0000001")
    states = {r["address"]: r["state"] for r in row["recipients"]}
    assert states == {LONG_BILLING: "bounced", DUNNING: "accepted", RELATIONSHIP: "accepted"}


def test_an_altered_or_never_issued_return_path_is_refused_in_the_session(bounce_harness, smtp_server, listener):
    bounce_harness.ingest(contract_example()[:3])
    bounce_harness.drain()
    genuine = {m.rcpt_tos[0]: m.mail_from for m in smtp_server.messages}[BILLING]
    local, _, domain = genuine.partition("@")
    altered = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    never_issued = "bounces+" + "a" * 24 + "@" + domain
    for address in (altered, never_issued):
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send_report(listener, address, "postfix_user_unknown.eml", BILLING)
    (row,) = bounce_harness.status("INV-0000001")
    assert {r["state"] for r in row["recipients"]} == {"accepted"}


def test_a_mailbox_full_dsn_leaves_the_address_unsuppressed_and_resends_the_email(
    bounce_harness, smtp_server, listener
):
    # Given an invoice the relay accepted for everyone
    bounce_harness.ingest(contract_example()[:3])
    bounce_harness.drain()
    paths = {m.rcpt_tos[0]: m.mail_from for m in smtp_server.messages}
    first_id = smtp_server.received_by(BILLING)[0].message["Message-ID"]
    # When the billing contact's mailbox server reports "failed 5.2.2 mailbox full"
    send_report(listener, paths[BILLING], "postfix_mailbox_full.eml", BILLING)
    # Then the recipient is deferred, not bounced, and the address is not suppressed
    (row,) = bounce_harness.status("INV-0000001")
    billing = next(r for r in row["recipients"] if r["address"] == BILLING)
    assert billing["state"] == "deferred" and "5.2.2" in billing["last_reply"]
    app = bounce_harness.pipeline.app

    async def suppressed():
        try:
            return await app.store.deliveries.suppression(BILLING, NOW.timestamp())
        finally:
            await app.aclose()

    assert asyncio.run(suppressed()) is None
    # And once the resend delay has passed, the same email is sent to it again (and only to it)
    bounce_harness.clock.advance(seconds=601)
    bounce_harness.drain()
    again = smtp_server.received_by(BILLING)
    assert len(again) == 2 and again[1].message["Message-ID"] == first_id
    assert len(smtp_server.received_by(DUNNING)) == 1


def test_a_dkim_domain_that_cannot_align_with_the_from_domain_is_warned_about_at_start_up(redis_url, dkim_key, caplog):
    path, _ = dkim_key
    dkim = {"dkim_selector": SELECTOR, "dkim_private_key_file": path}
    # Given MAIL_FROM at invoice-worker.example, signing as its parent's sibling: a warning
    ServiceContext.from_settings(make_settings(redis_url, 25, dkim_domain="other-brand.example", **dkim))
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING and "DKIM_DOMAIN" in r.getMessage()]
    assert "other-brand.example" in warning.getMessage() and "invoice-worker.example" in warning.getMessage()
    # Given the From domain itself or a subdomain of it (relaxed alignment): none
    caplog.clear()
    for aligned in (DOMAIN, "mail.invoice-worker.example"):
        ServiceContext.from_settings(make_settings(redis_url, 25, dkim_domain=aligned, **dkim))
    assert not [r for r in caplog.records if "DKIM_DOMAIN" in r.getMessage()]
