"""The gate: what an invoice's e-invoice must pass before any byte of its email is sent.

- the XML against its XSD (Factur-X EN 16931 for CII, UBL 2.1 Invoice for Peppol and XRechnung),
  reported as rule `XSD` with the line and the validator's message;
- the EN 16931 business rules the document exercises (`worker.domain.einvoice.rules`), by id;
- its CIUS's rules (`worker.documents.cius_rules`: Peppol BIS 3.0, XRechnung 3.0).

An invoice sent with the PDF alone (`none`: a country without an e-invoice mandate, such as Japan
or the US) is not an EN 16931 e-invoice and passes no gate: EN 16931's rules are the European
norm's, and a Japanese invoice that rounds its tax per line in whole yen (BR-CO-17) or a US one
is lawful where it is issued. Its PDF states the same amounts as its email.
"""

from __future__ import annotations

from worker.documents.cius_rules import check_cius
from worker.documents.einvoices import SYNTAX
from worker.documents.schemas import xsd_errors
from worker.domain.einvoice.model import LegalInvoice
from worker.domain.einvoice.rules import Violation, check

XSD_RULE = "XSD"


def check_einvoice(doc: LegalInvoice, einvoice: str, xml: bytes | None) -> list[Violation]:
    """Every way the invoice's e-invoice breaks a rule; [] when it may be sent (and always for
    `none`, the PDF alone)."""
    violations: list[Violation] = []
    if einvoice == "none":
        return violations
    if xml is not None:
        syntax = SYNTAX[einvoice]
        violations += [
            Violation(XSD_RULE, f"The XML shall be valid against its {syntax.upper()} schema.", syntax, error)
            for error in xsd_errors(xml, syntax)
        ]
    return violations + check(doc) + check_cius(doc, einvoice)
