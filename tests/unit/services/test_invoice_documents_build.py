"""An invoice's documents as `build_documents` makes them: every booking country gets its PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.support.legal_invoices import invoice, line
from worker.services.documents import build_documents, stand_in_account


@pytest.mark.parametrize(
    "country, currency, seller",
    [("KE", "USD", "Invoice Worker Cloud Inc."), ("GR", "EUR", "Invoice Worker Cloud B.V.")],
)
def test_a_country_without_its_own_selling_entity_still_gets_its_pdf(country: str, currency: str, seller: str) -> None:
    # Given an invoice booked in a country sellers.json has no entity for
    issued = invoice(line("L1", "Compute", "1000.00", "0.16", currency=currency), country=country, currency=currency)
    # When its documents are built
    built = build_documents(issued, stand_in_account(issued), locale="en-US")
    # Then it is not held: the PDF names the fallback entity as the seller
    text = PdfReader(io.BytesIO(built.pdf.data)).pages[0].extract_text()
    assert built.einvoice == "none" and seller in text and issued.number in text
