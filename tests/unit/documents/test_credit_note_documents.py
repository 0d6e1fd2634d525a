"""A credit note's e-invoice: CII type code 381 or a UBL CreditNote with the invoice's amounts, referencing the
invoice it credits (BT-25), passing the gate and CEN's own Schematron; its PDF says so."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

from lxml import etree
from pypdf import PdfReader

from tests.support.legal_invoices import DUTCH_BUYER, document, standard_invoice
from tests.support.schematron import official_report
from worker.documents.checks import check_einvoice
from worker.documents.cross_industry import cii_xml
from worker.documents.invoice_pdf import invoice_pdf
from worker.documents.universal_business import ubl_xml
from worker.domain.einvoice.model import ElectronicAddress, specification_for
from worker.domain.payments import payment_options

UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}  # fmt: skip
CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}  # fmt: skip


ISSUED_AT = datetime(2026, 2, 20, tzinfo=UTC)


def credit_note():
    issued = standard_invoice()
    note = replace(
        issued, number="CN-0000001", due_on=issued.issued_on, credits=issued.number, credit_reason="wrong PO"
    )
    return issued, document(note, DUTCH_BUYER)


def test_a_credit_note_is_cii_381_with_the_invoices_amounts_and_its_number_as_bt_25() -> None:
    issued, doc = credit_note()
    xml = cii_xml(doc)
    tree = etree.fromstring(xml)
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=CII) == "381"
    assert tree.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=CII) == issued.number
    assert tree.findtext(".//ram:GrandTotalAmount", namespaces=CII) == f"{issued.total:.2f}"
    # Nothing for the buyer to pay: no payment means, no due date
    assert tree.find(".//ram:SpecifiedTradeSettlementPaymentMeans", namespaces=CII) is None
    assert tree.find(".//ram:DueDateDateTime", namespaces=CII) is None
    # And the gate (XSD, EN 16931 rules) and CEN's Schematron accept it
    assert check_einvoice(doc, "facturx", xml) == []
    assert official_report(xml, "cii").fatal == frozenset()


def test_the_credit_notes_pdf_is_titled_and_names_the_credited_invoice_and_no_payment() -> None:
    issued, doc = credit_note()
    payment = payment_options(
        total=issued.total, currency="EUR", country="NL", reference="CN-0000001", country_facts={}, limits={}
    )
    pdf = invoice_pdf(doc, locale="en-GB", payment=payment, facturx_xml=cii_xml(doc), created_at=ISSUED_AT)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Credit note\nCN-0000001" in text and f"Credited invoice {issued.number}" in text
    assert "How to pay" not in text and "IBAN" not in text


def test_a_ubl_credit_note_is_a_creditnote_document_referencing_the_invoice() -> None:
    issued, doc = credit_note()
    doc = replace(
        doc,
        specification_id=specification_for("ubl"),
        buyer=replace(doc.buyer, electronic_address=ElectronicAddress("0088", "5412345000013")),
    )
    xml = ubl_xml(doc, cius="peppol")
    tree = etree.fromstring(xml)
    assert etree.QName(tree).localname == "CreditNote"
    assert tree.findtext("cbc:CreditNoteTypeCode", namespaces=UBL) == "381"
    assert tree.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL) == issued.number
    assert len(tree.findall("cac:CreditNoteLine", namespaces=UBL)) == len(issued.lines)
    # Valid against UBL's CreditNote XSD and the gate's rules, and CEN's Schematron
    assert check_einvoice(doc, "ubl", xml) == []
    assert official_report(xml, "ubl").fatal == frozenset()
