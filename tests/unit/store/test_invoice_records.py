"""An invoice as Redis keeps it: deflated JSON after a marker, read back as the same invoice, and
JSON of before still readable."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from decimal import Decimal

import pytest
from pydantic import TypeAdapter

from tests.support.legal_invoices import invoice, line, standard_invoice
from worker.domain.model import Contact, Invoice
from worker.store import invoice_records

_JSON = TypeAdapter(Invoice)


@pytest.mark.parametrize(
    "issued",
    [
        standard_invoice(),
        # A credit note, in yen, for a Japanese contact, with a usage line
        replace(
            invoice(line("L1", "クラウド", "120000", "0.10", currency="JPY"), country="JP", currency="JPY"),
            credits="INV-2026-000041",
            credit_reason="dispute upheld",
            billing_contact=Contact("山田 太郎", "taro@example.jp", "ja-JP"),
        ),
        replace(
            invoice(
                replace(line("U1", "Compute", "12.34", "0.21"), quantity=Decimal("1234.5"), unit="OCPU-hour"),
                po_number=None,
            ),
            split_reason="usage",
            replaces="INV-2026-000040",
        ),
    ],
    ids=["standard", "credit-note-ja", "usage-reissue"],
)
def test_an_invoice_reads_back_equal_at_a_third_of_its_json(issued):
    # When an invoice is kept as a record
    record = invoice_records.encode(issued)
    # Then it reads back equal, amounts to the cent, and takes under a third of its JSON
    assert invoice_records.decode(record) == issued
    assert record.startswith(b"i1") and len(record) * 3 < len(_JSON.dump_json(issued))


def test_an_invoice_kept_as_json_before_records_reads_back():
    issued = standard_invoice()
    assert invoice_records.decode(_JSON.dump_json(issued)) == issued


def test_the_dictionary_of_i1_records_never_changes():
    assert invoice_records.MARKER == b"i1"
    assert hashlib.sha256(invoice_records.DICTIONARY).hexdigest()[:16] == "b4b0d1367ff0762e"
