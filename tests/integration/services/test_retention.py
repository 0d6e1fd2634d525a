"""Redis holds state, not an archive (real Redis, real SMTP server on loopback): a month after
every recipient of an invoice email is final, its built message and the invoice's PDF and XML are
gone from Redis; what the operator and a later send need comes back byte for byte: `document`
gives the same files (even after the account changed), the message built again is the one the
relay received, and its DKIM signature still verifies."""

from __future__ import annotations

import asyncio
import email
import json
import threading
from datetime import UTC, datetime
from email import policy
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import wait_for
from tests.support.contract_events import account_updated, contract_example
from tests.support.dkim_keys import DOMAIN, SELECTOR, make_dkim_key, verify
from tests.support.harness import Harness, make_settings
from worker.runtime.runner import run
from worker.services.messages import build_delivery_message
from worker.services.resend import documents_as_sent
from worker.store import delivery_records, invoice_records, recipient_records
from worker.store.documents import InvoiceDocuments

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NUMBER, DELIVERY = "INV-0000001", "invoice:INV-0000001"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory) -> tuple[Path, bytes]:
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


def on_loop(harness: Harness, work: Any) -> Any:
    async def run() -> Any:
        try:
            return await work(harness.pipeline.app)
        finally:
            await harness.pipeline.app.aclose()

    return asyncio.run(run())


def documents(harness: Harness) -> InvoiceDocuments:
    return on_loop(harness, lambda app: documents_as_sent(app.store, NUMBER))


def rebuilt_message(harness: Harness) -> bytes:
    async def build(app: Any) -> bytes:
        delivery = await app.store.deliveries.load_delivery(DELIVERY)
        assert "message" not in delivery  # dropped: what follows builds it again
        return (await build_delivery_message(app, DELIVERY, delivery)).data

    return on_loop(harness, build)


@pytest.fixture
def compact_hashes(redis_client) -> Any:
    """The Redis setting the README recommends (and the embedded Redis has), for this test."""
    before = redis_client.config_get("hash-max-ziplist-value")["hash-max-ziplist-value"]
    redis_client.config_set("hash-max-ziplist-value", 256)
    yield
    redis_client.config_set("hash-max-ziplist-value", before)


def test_a_month_after_delivery_the_bytes_leave_redis_and_come_back_byte_for_byte(
    redis_client, redis_url, smtp_server, dkim_key, compact_hashes
) -> None:
    path, record = dkim_key
    settings = make_settings(
        redis_url,
        smtp_server.port,
        dkim_domain=DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_file=path,
        message_retention_days=30,
        reminder_days="",  # a reminder would build the documents again (and keep them): see below
    )
    harness = Harness.build(settings, NOW)
    # Given an invoice email delivered to all three recipients, signed, with its PDF
    harness.ingest(contract_example()[:3])
    harness.drain()
    (sent,) = smtp_server.messages
    assert verify(sent.data, record)
    then = documents(harness)
    delivery_key, documents_key = f"iw:delivery:{DELIVERY}", f"iw:invoice:{NUMBER}:documents"
    invoice_key = f"iw:invoice:{NUMBER}"
    held_before = sum(redis_client.memory_usage(k) for k in (delivery_key, documents_key, invoice_key))
    # and the account renamed since (the documents must not be built from today's account)
    harness.ingest([account_updated(name="Acme Holding B.V.", occurred_at="2026-03-10T08:00:00Z", event_id="e9")])
    harness.drain()

    # When 29 days pass, nothing is dropped yet
    harness.clock.advance(days=29)
    harness.drain()
    assert b"message" in redis_client.hgetall(delivery_key)

    # When the 30 days after the last recipient became final have passed
    harness.clock.advance(days=2)
    harness.drain()

    # Then Redis holds neither the message nor the files, only what builds them again: the
    # documents' description and source folded into the invoice's own key (no documents hash
    # left), and the delivery's hash, recipients and history folded into one record
    assert not redis_client.exists(documents_key)
    kept = invoice_records.split(redis_client.get(invoice_key))
    assert kept.source and json.loads(kept.meta or b"") == {
        "einvoice": then.einvoice,
        "reason": then.reason,
        "pdf": f"{NUMBER}.pdf",
        "xml": then.xml.filename if then.xml else None,
    }
    record_key = f"{delivery_key}:record"
    assert not redis_client.exists(delivery_key, f"{delivery_key}:rcpt", f"{delivery_key}:log")
    folded = delivery_records.unfold(redis_client.get(record_key))
    assert b"message" not in folded["fields"]
    assert folded["fields"][b"dkim_signature"].startswith(b"DKIM-Signature:")
    assert b"message_id" in folded["fields"] and len(folded["fields"][b"message_digest"]) == 16
    assert set(folded["states"]) == {r.encode() for r in sent.rcpt_tos} and len(folded["log"]) == 1
    held_after = redis_client.memory_usage(record_key) + redis_client.memory_usage(invoice_key)
    assert held_after < held_before / 10

    # And `document` gives the very files that were sent, built from the account as it was
    now = documents(harness)
    assert now.pdf.data == then.pdf.data and now.pdf.filename == then.pdf.filename
    assert (now.xml.data if now.xml else None) == (then.xml.data if then.xml else None)
    # And the message built again is the one the relay received, and its signature still holds
    again = rebuilt_message(harness)
    assert again == sent.data
    assert verify(again, record)


def signed_settings(redis_url: str, port: int, dkim_key: tuple[Path, bytes]) -> Any:
    return make_settings(
        redis_url,
        port,
        dkim_domain=DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_file=dkim_key[0],
        message_retention_days=30,
        reminder_days="",
    )


def test_a_message_built_again_that_differs_from_the_one_sent_is_signed_anew(
    redis_client, redis_url, smtp_server, dkim_key, caplog
) -> None:
    # Given a signed invoice email delivered, and its message dropped after retention
    harness = Harness.build(signed_settings(redis_url, smtp_server.port, dkim_key), NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    (sent,) = smtp_server.messages
    harness.clock.advance(days=31)
    harness.drain()
    # and what builds it changed since (here its locale; a template or catalog of a later release alike)
    redis_client.hset(f"iw:delivery:{DELIVERY}", "locale", "en-US")
    # When it is built again
    again = rebuilt_message(harness)
    # Then it is not the message sent, so the kept signature (which would fail) is not put on
    # it: it is signed anew, and the signature holds; the log says it differs
    assert again != sent.data
    assert verify(again, dkim_key[1])
    assert any("it differs from the message sent" in r.getMessage() for r in caplog.records)


def test_documents_kept_by_an_earlier_release_without_their_source_are_not_dropped(
    redis_client, redis_url, smtp_server, dkim_key
) -> None:
    # Given an invoice delivered, whose documents were kept as an earlier release kept them:
    # without the account and locale they were built from
    harness = Harness.build(signed_settings(redis_url, smtp_server.port, dkim_key), NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    then = documents(harness)
    documents_key = f"iw:invoice:{NUMBER}:documents"
    redis_client.hdel(documents_key, "source")
    # When retention is over
    harness.clock.advance(days=31)
    harness.drain()
    # Then the message is dropped (the delivery folded into its record), but the files stay:
    # they could not be built again as sent
    assert not redis_client.exists(f"iw:delivery:{DELIVERY}")
    assert redis_client.exists(f"iw:delivery:{DELIVERY}:record")
    kept = redis_client.hgetall(documents_key)
    assert b"pdf" in kept
    now = documents(harness)
    assert now.pdf.data == then.pdf.data


def test_a_retention_of_zero_keeps_everything(redis_client, redis_url, smtp_server) -> None:
    settings = make_settings(redis_url, smtp_server.port, message_retention_days=0)
    harness = Harness.build(settings, NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    harness.clock.advance(days=400)
    harness.drain()
    assert b"message" in redis_client.hgetall(f"iw:delivery:{DELIVERY}")
    assert b"pdf" in redis_client.hgetall(f"iw:invoice:{NUMBER}:documents")
    assert not [m for m in redis_client.zrange("iw:due", 0, -1) if m.startswith(b"retain:")]


def pdf_attachment(data: bytes) -> bytes:
    message = email.message_from_bytes(data, policy=policy.default)
    (pdf,) = [part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    return pdf.get_content()


def test_a_reminder_after_retention_carries_the_same_pdf_as_the_invoice_email(
    redis_client, redis_url, smtp_server
) -> None:
    # Given an invoice email sent, a 1-day retention, and a reminder the day after the due date
    settings = make_settings(redis_url, smtp_server.port, message_retention_days=1, reminder_days="1")
    harness = Harness.build(settings, NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    (invoice_email,) = smtp_server.messages
    # When the documents are dropped (a day later) and the reminder falls due (a month later)
    harness.clock.advance(days=2)
    harness.drain()
    documents_key, invoice_key = f"iw:invoice:{NUMBER}:documents", f"iw:invoice:{NUMBER}"
    assert not redis_client.exists(documents_key)
    folded = redis_client.get(invoice_key)
    harness.clock.advance(days=30)
    harness.drain()
    # Then the reminder carries the PDF built again: the same file as the invoice email's
    reminder = smtp_server.messages[-1]
    assert reminder.message["Message-ID"] != invoice_email.message["Message-ID"]
    assert pdf_attachment(reminder.data) == pdf_attachment(invoice_email.data)
    # And once the reminder's own retention is over, the files built for it go whole, and the
    # invoice keeps the fold they were built from
    assert b"pdf" in redis_client.hgetall(documents_key)
    harness.clock.advance(days=2)
    harness.drain()
    assert not redis_client.exists(documents_key)
    assert redis_client.get(invoice_key) == folded


def test_deliveries_finished_before_retention_existed_are_swept_once_by_a_worker(
    redis_client, redis_url, smtp_server, compact_hashes
) -> None:
    # Given an invoice delivered while nothing was dropped (as before retention existed)
    keep_all = make_settings(redis_url, smtp_server.port, message_retention_days=0, reminder_days="")
    harness = Harness.build(keep_all, NOW)
    harness.ingest(contract_example()[:3])
    harness.drain()
    assert not redis_client.zscore("iw:due", f"retain:{DELIVERY}")
    # When a long-running worker with a 30-day retention starts
    settings = make_settings(redis_url, smtp_server.port, message_retention_days=30, reminder_days="")
    later = Harness.build(settings, NOW)
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(later.pipeline,), kwargs={"stop": stop}, daemon=True)
    worker.start()
    try:
        wait_for(lambda: redis_client.exists("iw:retention-swept"))
    finally:
        stop.set()
        worker.join(30)
    # Then the old delivery is scheduled 30 days after its recipients became final, once
    stored = redis_client.hgetall(f"iw:delivery:{DELIVERY}:rcpt").items()
    final_at = max(recipient_records.decode(a.decode(), v).updated_at for a, v in stored)
    assert redis_client.zscore("iw:due", f"retain:{DELIVERY}") == pytest.approx(final_at + 30 * 86400)
    # And when those days have passed its bytes leave Redis like any other's
    later.clock.advance(days=31)
    later.drain()
    assert not redis_client.exists(f"iw:delivery:{DELIVERY}")
    folded = delivery_records.unfold(redis_client.get(f"iw:delivery:{DELIVERY}:record"))
    # (unsigned: no signature kept)
    assert b"message_digest" in folded["fields"] and b"dkim_signature" not in folded["fields"]
