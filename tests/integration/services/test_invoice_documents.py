"""The invoice's documents through the whole pipeline: events in, an email out with its PDF and
its e-invoice, through a real Redis and a real SMTP server; held by the gate, re-run, re-sent."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime

import pytest
from lxml import etree
from pypdf import PdfReader

from tests.support.contract_events import account_updated, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from worker.services.resend import documents_as_sent, resend_invoice
from worker.store.cipher import SealingKeys
from worker.store.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
#: A year from the activations: each line bills its full annual amount (2 x 24,000.00 + 21 %).
TERM = ("2026-11-21", "2027-11-20")
UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
CII = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
DUTCH_DOCUMENT_FIELDS = {
    "legal_name": "Acme B.V.",
    "address": {"lines": ["Stationsplein 1"], "city": "Utrecht", "postal_code": "3511 ED", "country": "NL"},
    "vat_id": "NL004495445B01",
    "peppol_id": "9944:NL004495445B01",
}
GERMAN_DOCUMENT_FIELDS = {
    "legal_name": "Beispiel GmbH",
    "address": {"lines": ["Hauptstraße 1"], "city": "München", "postal_code": "80331", "country": "DE"},
    "vat_id": "DE136695976",
}


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def one_invoice(harness: Harness, account: dict, *, currency: str = "EUR", locale: str | None = None) -> None:
    contact = {"name": "Els de Vries", "email": "els@acme.example"}
    if locale:
        contact["locale"] = locale
    harness.ingest(
        [
            account,
            order_booked(currency=currency, billing_contact=contact, term=TERM),
            service_activated("O-1", "L1", "2026-11-21T09:00:00Z"),
            service_activated("O-1", "L2", "2026-11-21T10:00:00Z"),
        ]
    )
    harness.drain()


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.message.iter_attachments()}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def embedded_files(data: bytes) -> dict[str, bytes]:
    return {name: contents[0] for name, contents in PdfReader(io.BytesIO(data)).attachments.items()}


def with_store(harness: Harness, action):
    async def run():
        sealing = SealingKeys.from_settings(harness.settings)
        async with Store.open(
            harness.settings.redis_url or "", prefix=harness.settings.redis_prefix, sealing=sealing
        ) as store:
            return await action(store)

    return asyncio.run(run())


def test_a_dutch_invoice_carries_its_pdf_and_a_peppol_ubl_beside_it(harness, smtp_server):
    # Given a Dutch account with its Peppol id (the Netherlands' policy is UBL)
    one_invoice(harness, account_updated(**DUTCH_DOCUMENT_FIELDS))
    # When its invoice email arrives
    (message,) = smtp_server.messages
    files = attachments(message)
    # Then it is multipart/mixed with the PDF and the UBL, named by the invoice number
    assert message.message.get_content_type() == "multipart/mixed"
    assert sorted(files) == ["INV-0000001.pdf", "INV-0000001.xml"]
    ubl = etree.fromstring(files["INV-0000001.xml"])
    assert ubl.findtext("cbc:ID", namespaces=UBL) == "INV-0000001"
    assert "peppol" in ubl.findtext("cbc:CustomizationID", namespaces=UBL)
    assert ubl.findtext(".//cbc:PayableAmount", namespaces=UBL) == "58080.00"
    # and the PDF shows the number, the buyer, and the total in Dutch format
    text = pdf_text(files["INV-0000001.pdf"])
    assert "INV-0000001" in text and "Acme B.V." in text and "58.080,00" in text
    # and status says what travelled and why
    (row,) = harness.status("INV-0000001")
    assert row["documents"]["files"] == ["INV-0000001.pdf", "INV-0000001.xml"]
    assert row["documents"]["einvoice"] == "ubl"


def test_a_german_invoice_carries_one_pdf_with_factur_x_inside_and_no_duplicate_xml(harness, smtp_server):
    # Given a German account (Germany's policy: Factur-X, no further field needed)
    one_invoice(harness, account_updated(country="DE", name="Beispiel GmbH", **GERMAN_DOCUMENT_FIELDS))
    (message,) = smtp_server.messages
    files = attachments(message)
    # Then only the PDF is attached, and the CII XML is inside it as factur-x.xml
    assert list(files) == ["INV-0000001.pdf"]
    inside = embedded_files(files["INV-0000001.pdf"])
    assert list(inside) == ["factur-x.xml"]
    cii = etree.fromstring(inside["factur-x.xml"])
    assert cii.findtext(".//ram:DuePayableAmount", namespaces=CII) is not None
    assert "INV-0000001" in inside["factur-x.xml"].decode()
    # and the German PDF reads in German formats
    assert "58.080,00" in pdf_text(files["INV-0000001.pdf"])


def test_a_dutch_account_without_a_peppol_id_gets_the_pdf_alone_and_status_says_why(harness, smtp_server):
    fields = {k: v for k, v in DUTCH_DOCUMENT_FIELDS.items() if k != "peppol_id"}
    one_invoice(harness, account_updated(**fields))
    (message,) = smtp_server.messages
    assert list(attachments(message)) == ["INV-0000001.pdf"]
    (row,) = harness.status("INV-0000001")
    assert row["documents"]["einvoice"] == "none"
    assert "peppol_id" in row["documents"]["reason"]


def test_an_account_of_a_country_without_e_invoices_gets_its_pdf_in_its_language(harness, smtp_server):
    # Given a Japanese account, invoiced in yen
    one_invoice(harness, account_updated(country="JP", name="株式会社サンプル"), currency="JPY")
    (message,) = smtp_server.messages
    files = attachments(message)
    assert list(files) == ["INV-0000001.pdf"]
    text = pdf_text(files["INV-0000001.pdf"])
    assert "INV-0000001" in text and "株式会社サンプル" in text


def test_an_e_invoice_that_breaks_a_rule_is_held_with_the_rule_id_and_sent_once_the_data_is_fixed(harness, smtp_server):
    # Given an account booked in the Netherlands, addressed in Belgium, billed at 0 % (the reverse
    # charge) but without the VAT id that makes it lawful
    address = {"lines": ["Avenue Louise 1"], "city": "Brussel", "postal_code": "1050", "country": "BE"}
    harness.ingest(
        [
            account_updated(address=address, peppol_id="9925:BE0403170701", event_id="a1"),
            order_booked(currency="EUR", term=TERM, lines=[_zero_rated("L1"), _zero_rated("L2")]),
            service_activated("O-1", "L1", "2026-11-21T09:00:00Z"),
            service_activated("O-1", "L2", "2026-11-21T10:00:00Z"),
        ]
    )
    harness.drain()
    # Then nothing is sent, and status names the rule: BR-AE-02 (the buyer's VAT id)
    assert smtp_server.messages == []
    (row,) = harness.status("INV-0000001")
    assert {r["state"] for r in row["recipients"]} == {"failed"}
    assert "BR-AE-02" in row["recipients"][0]["last_reply"]
    assert "BR-AE-02" in {rule["rule_id"] for rule in row["documents"]["held"]["rules"]}
    # When the producer sends the VAT id and the operator re-runs the invoice
    harness.ingest(
        [
            account_updated(
                address=address,
                peppol_id="9925:BE0403170701",
                vat_id="BE0403170701",
                occurred_at="2026-11-21T11:00:00Z",
            )
        ]
    )
    resent = with_store(harness, lambda store: resend_invoice(store, "INV-0000001", to=None, now=harness.clock()))
    harness.drain()
    # Then the invoice goes out, once, with its documents, and the hold is gone
    assert resent.rerun
    (message,) = smtp_server.messages
    assert "INV-0000001.pdf" in attachments(message)
    (row,) = harness.status("INV-0000001")
    assert "held" not in row["documents"]
    assert {r["state"] for r in row["recipients"]} == {"accepted"}


def _zero_rated(line_id: str) -> dict:
    from tests.support.contract_events import line

    return line(line_id, f"Product {line_id}", tax_rate="0")


def test_a_resent_copy_is_marked_answers_the_original_and_carries_the_same_documents(harness, smtp_server):
    # Given an invoice sent with its documents
    one_invoice(harness, account_updated(**DUTCH_DOCUMENT_FIELDS))
    (original,) = smtp_server.messages
    smtp_server.clear()
    # When an operator re-sends it to one address
    resent = with_store(
        harness, lambda store: resend_invoice(store, "INV-0000001", to="ap@acme.example", now=harness.clock())
    )
    harness.drain()
    # Then one copy arrives there alone: marked in Dutch, a reply to the original, same files
    (copy,) = smtp_server.messages
    assert list(copy.rcpt_tos) == ["ap@acme.example"]
    assert copy.message["Subject"].startswith("Kopie: ")
    assert copy.message["Subject"].endswith(original.message["Subject"])
    assert copy.message["In-Reply-To"] == original.message["Message-ID"]
    assert attachments(copy) == attachments(original)
    # and `document` gives the same bytes, and status shows the copy in the invoice's history
    documents = with_store(harness, lambda store: documents_as_sent(store, "INV-0000001"))
    assert documents.pdf.data == attachments(original)["INV-0000001.pdf"]
    rows = harness.status("INV-0000001")
    assert [row["delivery"] for row in rows] == ["invoice:INV-0000001", resent.delivery_id]
    assert any("resent" in entry for entry in rows[0]["history"])


def test_a_deferred_invoice_is_retried_with_byte_identical_documents(harness, smtp_server):
    # Given a relay that defers the first try
    smtp_server.data_replies = ["451 4.3.0 try again later"]
    one_invoice(harness, account_updated(**DUTCH_DOCUMENT_FIELDS))
    assert smtp_server.messages == []
    first = with_store(harness, lambda store: documents_as_sent(store, "INV-0000001"))
    # When the retry is due
    harness.clock.advance(seconds=600)
    harness.drain()
    # Then the documents that arrive are the ones built the first time, byte for byte
    (message,) = smtp_server.messages
    assert attachments(message)["INV-0000001.pdf"] == first.pdf.data
    assert first.xml is not None and attachments(message)["INV-0000001.xml"] == first.xml.data
