"""Each e-invoice format's XML: the syntax it is written in and checked against, and its writer."""

from __future__ import annotations

from worker.documents.cross_industry import cii_xml
from worker.documents.universal_business import ubl_xml
from worker.domain.einvoice.model import LegalInvoice

#: Format -> the syntax of its XML (and of its XSD): CII for Factur-X, UBL for Peppol and XRechnung.
SYNTAX = {"facturx": "cii", "ubl": "ubl", "xrechnung": "ubl"}


def einvoice_xml(doc: LegalInvoice, einvoice: str) -> bytes | None:
    """The XML of `doc` as format `einvoice` writes it; None for `none`, the PDF alone."""
    if einvoice == "facturx":
        return cii_xml(doc)
    if einvoice in ("ubl", "xrechnung"):
        return ubl_xml(doc, cius="peppol" if einvoice == "ubl" else "xrechnung")
    return None
