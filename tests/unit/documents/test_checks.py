"""The gate: XSD, EN 16931 and CIUS rules, each reported by its id before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.support.legal_invoices import GERMAN_BUYER, document, invoice, line, standard
from worker.documents.checks import XSD_RULE, check_einvoice
from worker.documents.cius_rules import CIUS_RULES
from worker.documents.cross_industry import cii_xml
from worker.documents.einvoices import einvoice_xml
from worker.domain.einvoice.model import Address, ElectronicAddress, LegalInvoice, specification_for


def peppol() -> LegalInvoice:
    return replace(standard(), specification_id=specification_for("ubl"))


def xrechnung() -> LegalInvoice:
    doc = document(invoice(line("L1", "Compute", "1000.00", "0.19"), country="DE"), GERMAN_BUYER)
    buyer = replace(doc.buyer, electronic_address=ElectronicAddress("0204", "04011000-12345-34"))
    return replace(doc, specification_id=specification_for("xrechnung"), buyer=buyer)


def buyer(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, buyer=replace(doc.buyer, **changes))


def seller(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, seller=replace(doc.seller, **changes))


#: rule id -> (format, correct document, one change that breaks it)
BREAKS: dict[str, tuple[str, Callable[[], LegalInvoice], Callable[[LegalInvoice], LegalInvoice]]] = {
    "PEPPOL-EN16931-R004": ("ubl", peppol, lambda d: replace(d, specification_id="urn:cen.eu:en16931:2017")),
    "PEPPOL-EN16931-R003": (
        "ubl",
        peppol,
        lambda d: buyer(replace(d, purchase_order_reference=None), buyer_reference=None),
    ),
    "PEPPOL-EN16931-R010": ("ubl", peppol, lambda d: buyer(d, electronic_address=None)),
    "PEPPOL-EN16931-R020": ("ubl", peppol, lambda d: seller(d, electronic_address=None)),
    "BR-DE-21": ("xrechnung", xrechnung, lambda d: replace(d, specification_id=specification_for("ubl"))),
    "BR-DE-15": ("xrechnung", xrechnung, lambda d: buyer(d, buyer_reference=None)),
    "BR-DE-1": ("xrechnung", xrechnung, lambda d: replace(d, payment_means=())),
    "BR-DE-2": ("xrechnung", xrechnung, lambda d: seller(d, contact=None)),
    "BR-DE-3": ("xrechnung", xrechnung, lambda d: seller(d, address=replace(d.seller.address, city=None))),
    "BR-DE-4": ("xrechnung", xrechnung, lambda d: seller(d, address=replace(d.seller.address, postal_code=None))),
    "BR-DE-8": ("xrechnung", xrechnung, lambda d: buyer(d, address=Address(lines=("x",), city=None, country="DE"))),
    "BR-DE-9": ("xrechnung", xrechnung, lambda d: buyer(d, address=replace(d.buyer.address, postal_code=None))),
}


def xml_of(doc: LegalInvoice, einvoice: str) -> bytes:
    xml = einvoice_xml(doc, einvoice)
    assert xml is not None
    return xml


def test_every_cius_rule_has_a_passing_and_a_failing_document_here() -> None:
    assert set(BREAKS) == {rule.rule_id for rules in CIUS_RULES.values() for rule, _ in rules}


@pytest.mark.parametrize("einvoice, base", [("ubl", peppol), ("xrechnung", xrechnung)])
def test_a_correct_document_passes_the_gate(einvoice: str, base: Callable[[], LegalInvoice]) -> None:
    assert check_einvoice(base(), einvoice, xml_of(base(), einvoice)) == []


@pytest.mark.parametrize("rule_id", BREAKS)
def test_breaking_one_cius_term_holds_the_document_by_that_rule(rule_id: str) -> None:
    einvoice, base, breaking = BREAKS[rule_id]
    doc = breaking(base())
    assert rule_id in {v.rule_id for v in check_einvoice(doc, einvoice, xml_of(doc, einvoice))}


def test_an_xml_that_breaks_its_schema_is_held_as_xsd() -> None:
    broken = cii_xml(standard()).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"", 1)
    (violation,) = check_einvoice(standard(), "facturx", broken)
    assert violation.rule_id == XSD_RULE and "line" in violation.detail


def test_a_pdf_only_invoice_passes_no_gate_but_the_same_data_as_an_e_invoice_is_held() -> None:
    # Given a Japanese invoice rounding its tax per line in whole yen, off EN 16931's per-rate
    # rounding by more than BR-CO-17's one unit
    issued = invoice(*(line(f"L{i}", "Compute", "1005", "0.10", currency="JPY") for i in range(6)), currency="JPY")
    doc = document(issued, GERMAN_BUYER)
    # Then, sent with the PDF alone (no e-invoice mandate), nothing holds it
    assert check_einvoice(doc, "none", None) == []
    # while as a Factur-X e-invoice the gate holds it by the European norm's rule
    assert "BR-CO-17" in {v.rule_id for v in check_einvoice(doc, "facturx", cii_xml(doc))}
