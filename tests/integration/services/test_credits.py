"""End to end: a valid dispute ends with a credit note and, re-invoiced, a replacement invoice
closed by what was paid on the credited one; not re-invoiced, what was paid becomes the account's
credit. Real Redis, real SMTP server, real PDF and XML parsers."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from tests.support.contract_events import contract_example, invoice_credited, invoice_disputed, payment_received
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped

ISSUED = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)
# Before the invoice's first reminder step (9 February), so that no reminder comes between.
CREDITED = datetime(2026, 1, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    harness = Harness.build(make_settings(redis_url, smtp_server.port), ISSUED)
    harness.ingest(contract_example()[:3])
    harness.drain()
    smtp_server.clear()
    return harness


def text_of(message) -> str:
    return unwrapped(message.message.get_body(("plain",)).get_content()).replace("\xa0", " ")


def pdf_of(message) -> bytes:
    (pdf,) = [p for p in message.message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return pdf.get_content()


def ledger_of(harness: Harness, number: str) -> dict:
    (row,) = [r for r in harness.status(number) if r["kind"] == "invoice"]
    return row["ledger"]


def test_a_dispute_credited_and_reissued_closes_the_replacement_with_the_earlier_payment(harness, smtp_server):
    # Given INV-0000001 paid in full, then disputed
    harness.ingest([payment_received("29040.00", at="2026-01-20T10:00:00Z", event_id="pay-1")])
    harness.ingest([invoice_disputed("open", at="2026-01-22T10:00:00Z", event_id="dispute-1")])
    harness.drain()
    smtp_server.clear()
    # When Billing Support credits it and re-invoices
    harness.clock.now = CREDITED
    harness.ingest([invoice_credited(reissue=True, event_id="credit-1")])
    harness.drain()
    # Then a credit note and a replacement invoice, both to the invoice's recipients
    credit, replacement = sorted(smtp_server.messages, key=lambda m: m.message["Subject"])
    assert "CN-0000001" in credit.message["Subject"] and "INV-0000001" in credit.message["Subject"]
    assert sorted(credit.rcpt_tos) == sorted(replacement.rcpt_tos) and len(list(credit.rcpt_tos)) == 3
    assert "INV-0000001" in text_of(credit) and "INV-0000002" in text_of(credit)
    assert "INV-0000002" in replacement.message["Subject"] and "INV-0000001" in text_of(replacement)
    # The credit note's PDF is titled so and names the invoice it credits (its CII 381 XML, for
    # a Factur-X account, is checked in tests/unit/documents/test_credit_note_documents.py)
    text = PdfReader(io.BytesIO(pdf_of(credit))).pages[0].extract_text()
    assert "CN-0000001" in text and "INV-0000001" in text
    # And the ledgers: the credited invoice is credited, its replacement closed by the payment
    assert ledger_of(harness, "INV-0000001")["state"] == "credited"
    assert ledger_of(harness, "INV-0000002")["state"] == "closed"
    assert [e["what"] for e in ledger_of(harness, "INV-0000002")["history"]] == ["carried"]


def test_a_credit_delivered_twice_issues_one_credit_note_and_one_replacement(harness, smtp_server):
    harness.clock.now = CREDITED
    event = invoice_credited(reissue=True, event_id="credit-twice")
    harness.ingest([event])
    harness.drain()
    harness.ingest([event])
    harness.drain()
    subjects = [m.message["Subject"] for m in smtp_server.messages]
    assert len(subjects) == 2 and sum("CN-0000001" in s for s in subjects) == 1
    assert sum("INV-0000002" in s for s in subjects) == 1


def test_a_credit_without_reissue_keeps_what_was_paid_as_the_accounts_credit(harness, smtp_server):
    harness.ingest([payment_received("10000.00", at="2026-01-20T10:00:00Z", event_id="pay-part")])
    harness.drain()
    smtp_server.clear()
    harness.clock.now = CREDITED
    harness.ingest([invoice_credited(reissue=False, event_id="credit-only")])
    harness.drain()
    (credit,) = smtp_server.messages
    assert "US$ 10.000,00" in text_of(credit) and "Billing Support" in text_of(credit)
    ledger = ledger_of(harness, "INV-0000001")
    assert (ledger["state"], ledger["account_credit"]) == ("credited", "10000.00")
    # And the credited invoice is never reminded
    harness.clock.now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    harness.drain()
    assert len(smtp_server.messages) == 1
