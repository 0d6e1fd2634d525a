"""The e-invoice XML (CII for Factur-X, UBL for Peppol and XRechnung): what a buyer's system reads
is the invoice, and it is valid against its XSD."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from tests.support.legal_invoices import DUTCH_BUYER, GERMAN_BUYER, document, invoice, line, outside_scope, standard
from worker.documents.cross_industry import NAMESPACES as CII
from worker.documents.cross_industry import cii_xml
from worker.documents.schemas import xsd_errors
from worker.documents.universal_business import ubl_xml
from worker.domain.einvoice.model import specification_for

UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}  # fmt: skip


def test_the_cii_states_the_invoice_its_parties_lines_taxes_and_totals() -> None:
    # Given the Dutch invoice of two rates
    doc = standard()
    # When it is written as Factur-X's CII
    xml = etree.fromstring(cii_xml(doc))
    # Then a reader finds the invoice in it
    text = lambda path: xml.findtext(path, namespaces=CII)  # noqa: E731
    assert text("rsm:ExchangedDocument/ram:ID") == doc.number
    assert text(".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == "urn:cen.eu:en16931:2017"
    assert text(".//ram:IssueDateTime/udt:DateTimeString") == "20260201"
    assert text(".//ram:SellerTradeParty/ram:Name") == doc.seller.legal_name
    assert text(".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "NL820345015B01"
    assert text(".//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == "PO-77"
    assert text(".//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == "NL91ABNA0417164300"
    assert text(".//ram:PaymentReference") == doc.number
    lines = xml.findall(".//ram:IncludedSupplyChainTradeLineItem", CII)
    assert len(lines) == len(doc.lines)
    assert lines[0].findtext(".//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString", namespaces=CII)
    taxes = [
        (t.findtext("ram:CategoryCode", namespaces=CII), t.findtext("ram:RateApplicablePercent", namespaces=CII))
        for t in xml.findall(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", CII)
    ]
    assert taxes == [("S", "21"), ("S", "9")]
    assert text(".//ram:GrandTotalAmount") == str(doc.totals.total_with_vat)
    assert text(".//ram:DuePayableAmount") == "56750.00"


def test_the_peppol_ubl_states_the_invoice_with_both_electronic_addresses() -> None:
    doc = replace(standard(), specification_id=specification_for("ubl"))
    xml = etree.fromstring(ubl_xml(doc, cius="peppol"))
    text = lambda path: xml.findtext(path, namespaces=UBL)  # noqa: E731
    assert text("cbc:CustomizationID") == specification_for("ubl")
    assert text("cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert text("cbc:ID") == doc.number and text("cbc:DueDate") == "2026-03-03"
    assert text("cac:OrderReference/cbc:ID") == "PO-77"
    assert xml.find("cac:AccountingSupplierParty/cac:Party/cbc:EndpointID", UBL).get("schemeID") == "9944"
    assert text("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID") == "12345678"
    assert text("cac:LegalMonetaryTotal/cbc:PayableAmount") == "56750.00"
    assert [e.text for e in xml.findall("cac:InvoiceLine/cbc:LineExtensionAmount", UBL)] == [
        str(line.net_amount) for line in doc.lines
    ]


def test_a_yen_invoice_writes_whole_yen() -> None:
    doc = document(invoice(line("L1", "Compute", "120000", "0.10", currency="JPY"), currency="JPY", country="JP"),
                   DUTCH_BUYER)  # fmt: skip
    xml = etree.fromstring(cii_xml(doc))
    assert xml.findtext(".//ram:GrandTotalAmount", namespaces=CII) == "132000"


def test_an_invoice_without_a_po_number_still_names_its_order_in_ubl() -> None:
    doc = replace(document(invoice(line("L1", "A", "100.00", "0.21"), po_number=None), DUTCH_BUYER))
    xml = etree.fromstring(ubl_xml(doc, cius="peppol"))
    assert xml.findtext("cac:OrderReference/cbc:ID", namespaces=UBL) == "NA"
    assert xml.findtext("cac:OrderReference/cbc:SalesOrderID", namespaces=UBL) == "O-1"


@pytest.mark.parametrize(
    "doc",
    [standard(), outside_scope(), document(invoice(line("L1", "A", "100.00", "0.19"), country="DE"), GERMAN_BUYER)],
    ids=["NL", "outside scope", "DE"],
)
def test_every_document_is_valid_against_its_xsd(doc) -> None:
    assert xsd_errors(cii_xml(doc), "cii") == []
    assert xsd_errors(ubl_xml(doc, cius="peppol"), "ubl") == []
    assert xsd_errors(ubl_xml(doc, cius="xrechnung"), "ubl") == []


def test_an_xml_that_breaks_its_xsd_is_reported_with_the_line() -> None:
    # Given a CII whose document id element is removed
    xml = etree.fromstring(cii_xml(standard()))
    header = xml.find("rsm:ExchangedDocument", CII)
    header.remove(header.find("ram:ID", CII))
    broken = etree.tostring(xml)
    # Then the XSD check names where
    (error,) = xsd_errors(broken, "cii")
    assert error.startswith("line ") and "TypeCode" in error
    assert xsd_errors(b"<not-xml", "ubl")[0].startswith("not well-formed XML")


def test_the_same_document_writes_the_same_bytes() -> None:
    assert cii_xml(standard()) == cii_xml(standard())
    assert ubl_xml(standard(), cius="peppol") == ubl_xml(standard(), cius="peppol")
