"""The e-invoices against the official CEN EN 16931 Schematron (CII and UBL): what the gate lets
through, CEN accepts; what the gate holds by an EN 16931 rule, CEN reports by the same id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.support.legal_invoices import outside_scope, reverse_charge, standard, zero_rated
from tests.support.schematron import official_report
from worker.documents.checks import check_einvoice
from worker.documents.cross_industry import cii_xml
from worker.documents.universal_business import ubl_xml
from worker.domain.einvoice.model import ElectronicAddress, LegalInvoice, specification_for

DOCUMENTS: dict[str, Callable[[], LegalInvoice]] = {
    "domestic NL, two rates": standard,
    "reverse charge NL to BE": reverse_charge,
    "outside the scope of VAT": outside_scope,
    "zero rated": zero_rated,
}


def written(doc: LegalInvoice, syntax: str) -> tuple[str, LegalInvoice, bytes]:
    """The format, the document as that format states it (its BT-24) and its XML."""
    if syntax == "cii":
        return "facturx", doc, cii_xml(doc)
    doc = replace(doc, specification_id=specification_for("ubl"))
    if doc.buyer.electronic_address is None:  # the policy sends UBL only to a buyer with a Peppol id
        doc = replace(doc, buyer=replace(doc.buyer, electronic_address=ElectronicAddress("0088", "5412345000013")))
    return "ubl", doc, ubl_xml(doc, cius="peppol")


@pytest.mark.parametrize("syntax", ["cii", "ubl"])
@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_the_gate_passes_passes_the_official_schematron(name: str, syntax: str) -> None:
    # Given a correct legal invoice, written as the e-invoice of that syntax
    einvoice, doc, xml = written(DOCUMENTS[name](), syntax)
    # Then the gate lets it through, and so does CEN's Schematron (no fatal failed assertion)
    assert check_einvoice(doc, einvoice, xml) == []
    assert official_report(xml, syntax).fatal == frozenset()


def _first_group(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, vat_breakdown=(replace(doc.vat_breakdown[0], **changes), *doc.vat_breakdown[1:]))


BROKEN: dict[str, tuple[Callable[[], LegalInvoice], Callable[[LegalInvoice], LegalInvoice]]] = {
    "BR-CO-10": (standard, lambda d: replace(d, totals=replace(d.totals, line_net_total=Decimal("1.00")))),
    "BR-CO-15": (standard, lambda d: replace(d, totals=replace(d.totals, total_with_vat=Decimal("1.00")))),
    "BR-AE-02": (reverse_charge, lambda d: replace(d, buyer=replace(d.buyer, vat_id=None))),
    "BR-O-02": (outside_scope, lambda d: replace(d, seller=replace(d.seller, vat_id="NL820345003B01"))),
    "BR-S-08": (standard, lambda d: _first_group(d, taxable_amount=d.vat_breakdown[0].taxable_amount + 10)),
    "BR-CO-17": (standard, lambda d: _first_group(d, rate=Decimal(20))),
}


@pytest.mark.parametrize("syntax", ["cii", "ubl"])
@pytest.mark.parametrize("rule_id", BROKEN)
def test_a_document_the_gate_holds_is_refused_by_the_official_schematron_with_the_same_rule(
    rule_id: str, syntax: str
) -> None:
    # Given a document broken in one term
    base, breaking = BROKEN[rule_id]
    einvoice, doc, xml = written(breaking(base()), syntax)
    # Then the gate holds it by that rule, and CEN's Schematron reports the same rule as fatal
    assert rule_id in {v.rule_id for v in check_einvoice(doc, einvoice, xml)}
    assert rule_id in official_report(xml, syntax).fatal
