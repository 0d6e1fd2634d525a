"""The invoice PDF: PDF/A-3b, built by Typst from `templates/document/invoice.typ` with the
content of `pdf_content`, and, for Factur-X, the CII XML embedded as `factur-x.xml` with the
Factur-X XMP extension schema (`facturx_xmp`).

Typst (measured here: ~4 ms a warm compile of a one-page invoice, ~100 ms the first in a process;
WeasyPrint ~50-65 ms) keeps one compiler per process, so the template and the fonts load once.
Builds are deterministic: the timestamp is the invoice's, not the clock's.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Literal

import typst

from worker.documents.facturx_xmp import with_facturx_xmp
from worker.documents.font_subsets import subsets_directory
from worker.documents.fonts import check_fonts, font_families
from worker.documents.pdf_content import pdf_content
from worker.domain.einvoice.model import LegalInvoice
from worker.domain.payments import PaymentOptions
from worker.errors import PermanentError
from worker.resources import document_templates_dir

TEMPLATE = "invoice.typ"
PDF_STANDARD: Literal["a-3b"] = "a-3b"

_lock = threading.Lock()
_compiler: typst.Compiler | None = None


class DocumentRenderFailed(PermanentError):
    """The template could not lay the invoice out (a Typst error): never a partial PDF."""


def _the_compiler() -> typst.Compiler:
    global _compiler
    if _compiler is None:
        subsets = subsets_directory()
        _compiler = typst.Compiler(
            str(document_templates_dir() / TEMPLATE), font_paths=[str(subsets)] if subsets is not None else []
        )
    return _compiler


def compile_document(
    data: dict, *, timestamp: int, format: Literal["pdf", "png"] = "pdf", ppi: float | None = None
) -> bytes:
    """Compile the template with `data`; raises DocumentRenderFailed, DocumentFontsMissing."""
    inputs = {"data": json.dumps(data, ensure_ascii=False)}
    with _lock:  # one compiler per process; Typst's world is not shared across threads
        try:
            output, warnings = _the_compiler().compile_with_warnings(
                format=format,
                ppi=ppi,
                sys_inputs=inputs,
                pdf_standards=PDF_STANDARD if format == "pdf" else None,
                timestamp=timestamp,
            )
        except typst.TypstError as exc:
            raise DocumentRenderFailed(f"the invoice document could not be laid out: {exc}") from None
    check_fonts(warnings)
    if isinstance(output, list):  # PNG: one image per page
        return bytes(output[0])
    if output is None:
        raise DocumentRenderFailed("the invoice document could not be laid out: Typst returned nothing")
    return bytes(output)


def invoice_data(doc: LegalInvoice, *, locale: str, payment: PaymentOptions, facturx_xml: bytes | None) -> dict:
    data = pdf_content(doc, locale=locale, payment=payment)
    data["fonts"] = font_families(locale)
    data["xml"] = facturx_xml.decode("utf-8") if facturx_xml is not None else None
    return data


def invoice_pdf(
    doc: LegalInvoice, *, locale: str, payment: PaymentOptions, facturx_xml: bytes | None, created_at: datetime
) -> bytes:
    """The invoice's PDF/A-3b, with `facturx_xml` inside as Factur-X when given."""
    data = invoice_data(doc, locale=locale, payment=payment, facturx_xml=facturx_xml)
    pdf = compile_document(data, timestamp=int(created_at.timestamp()))
    if facturx_xml is not None:
        pdf = with_facturx_xmp(pdf)
    return pdf


def invoice_thumbnail(doc: LegalInvoice, *, locale: str, payment: PaymentOptions, created_at: datetime) -> bytes:
    """Page 1 of the invoice's PDF as a small PNG (the preview gallery's thumbnail)."""
    data = invoice_data(doc, locale=locale, payment=payment, facturx_xml=None)
    return compile_document(data, timestamp=int(created_at.timestamp()), format="png", ppi=40)
