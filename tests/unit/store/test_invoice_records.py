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
from worker.store.packed_json import pack

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
    assert record.startswith(b"i2") and len(record) * 3 < len(_JSON.dump_json(issued))
    # And one written by the release before ("i1") reads back the same
    old = invoice_records.MARKER + pack(_JSON.dump_json(issued), invoice_records.DICTIONARY)
    assert invoice_records.decode(old) == issued
    assert invoice_records.written_json(old) == invoice_records.written_json(record)


def test_an_invoice_kept_as_json_before_records_reads_back():
    issued = standard_invoice()
    assert invoice_records.decode(_JSON.dump_json(issued)) == issued


def test_an_invoice_record_gives_back_the_json_it_was_written_from_and_a_foreign_value_is_refused():
    # The JSON an invoice was written as: the dictionary of what is folded beside it
    issued = standard_invoice()
    assert invoice_records.written_json(invoice_records.encode(issued)) == _JSON.dump_json(issued)
    assert invoice_records.written_json(_JSON.dump_json(issued)) == _JSON.dump_json(issued)
    for foreign, says in (
        (b"k1" + b"3:abc", "neither JSON nor b'i1' nor b'i2'"),
        (b"i1" + b"\xff\x00", "does not inflate"),
    ):
        with pytest.raises(invoice_records.InvoiceRecordUnreadable, match=says):
            invoice_records.written_json(foreign)


def test_the_dictionaries_of_i1_and_i2_records_never_change():
    assert invoice_records.MARKER == b"i1"
    assert hashlib.sha256(invoice_records.DICTIONARY).hexdigest()[:16] == "b4b0d1367ff0762e"
    assert invoice_records.MARKER_2 == b"i2"
    assert hashlib.sha256(invoice_records.DICTIONARY_2).hexdigest()[:16] == "19f6f1cb8b57c645"


META = (
    b'{"einvoice": "none", "reason": "UBL (Peppol) needs the buyer\'s peppol_id; sent as the PDF alone", '
    b'"pdf": "INV-1.pdf", "xml": null}'
)


@pytest.mark.parametrize("kept_as", ["record", "json"])
def test_an_invoice_folded_with_its_documents_source_reads_back_as_each_part(kept_as):
    # Given an invoice as kept (a record, or JSON of before), its documents' description and
    # their sealed source (opaque bytes, any of them)
    issued = standard_invoice()
    record = invoice_records.encode(issued) if kept_as == "record" else _JSON.dump_json(issued)
    source = b"\xffs1" + bytes(range(256))
    # When they are folded into one value
    folded = invoice_records.fold(record, META, source)
    # Then each part reads back as it was, the invoice too, and the description costs ~25 bytes
    assert invoice_records.split(folded) == invoice_records.Kept(record, META, source)
    assert invoice_records.decode_kept(folded) == issued
    assert len(folded) - len(record) - len(source) < 35
    # And an invoice never folded is its record alone
    assert invoice_records.split(record) == invoice_records.Kept(record)
    assert invoice_records.decode_kept(record) == issued


@pytest.mark.parametrize(
    "broken, says",
    [(b"k1", "no length"), (b"k1x:abc", "no length"), (b"k1999:abc", "cut short"), (b"k13:abc2:\xff\xff", "inflate")],
)
def test_a_broken_fold_is_refused_saying_what_is_wrong(broken, says):
    with pytest.raises(invoice_records.InvoiceRecordUnreadable, match=f"folded documents .*{says}"):
        invoice_records.split(broken)


def test_the_dictionary_of_k1_folds_never_changes():
    assert invoice_records.KEPT_MARKER == b"k1"
    assert hashlib.sha256(invoice_records.META_DICTIONARY).hexdigest()[:16] == "85c2530d1d1f4dce"
