"""How an invoice is kept in Redis: its JSON deflated with a preset dictionary (`packed_json`),
after a marker. An invoice outlives its message and documents (retention drops those), so it is
most of what a delivered invoice leaves in Redis: ~1.6 KB as JSON, ~0.5 KB as a record. Only
Python reads it back; the settle script stores the bytes it is given.

An invoice stored before records existed is JSON (it starts with ``{``) and is read as it is.
Past retention, the key also holds what builds the invoice's documents again (`fold`,
marker ``k1``): the invoice's record, then the documents' description and sealed source.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from worker.domain.model import Invoice
from worker.store import netstrings
from worker.store.packed_json import JsonRecords, PackedUnreadable, pack, unpack

#: Marks a record (JSON starts with "{"). A later layout takes a new marker and keeps this one readable.
MARKER = b"i1"

#: The preset dictionary of every "i1" record: it never changes (a test pins its digest); a
#: better one takes a new MARKER. The likeliest strings come last.
DICTIONARY = (
    b'"credits":"INV-2026-","credit_reason":"","replaces":"split_reason":"","payment_method":"credit_card",'
    b'"paypal","direct_debit","USD","GBP","JPY","CHF","SEK","NOK","DKK","PLN","locale":"en-US","de-DE",'
    b'"fr-FR","iaas","saas","support","pooled","payg","overage","quantity":"unit":"OCPU-hour","unit_price":"'
    b'"0.00","0.19","0.20","0.25","kind":"paas","tax_rate":"0.21","tax":"","amount":"",'
    b'"period_end":"2027-","period_start":"2026-","product":"","order_id":"},{"line_id":"'
    b'"quantity":null,"unit":"","unit_price":null}],"lines":[{"line_id":"'
    b'"billing_contact":{"name":"","email":"","locale":"nl-NL"},"account_name":"","country":"NL",'
    b'"payment_method":"invoice","split_reason":"","credits":null,"credit_reason":"","replaces":null}'
    b'"currency":"EUR","issued_on":"2026-","due_on":"2026-","po_number":null,"po_number":"'
    b'{"number":"INV-2026-","order_id":"","account_id":"","subscription_id":"'
)


class InvoiceRecordUnreadable(ValueError):
    """A stored invoice is neither JSON nor a record of a known layout."""


#: Marks a record written since 2026-12-08, packed with `DICTIONARY_2`: "i1"'s, then the JSON
#: of an invoice in the order it is written, which "i1"'s named in pieces of another order
#: (270 -> 257 B a record, the bench's invoices, median). A later layout takes a new marker and
#: keeps these readable.
MARKER_2 = b"i2"

#: The preset dictionary of every "i2" record: it never changes (a test pins its digest).
DICTIONARY_2 = DICTIONARY + (
    b'"split_reason":"","credits":null,"credit_reason":"","replaces":null}'
    b'"},"account_name":"","country":"","payment_method":"invoice",'
    b',"quantity":null,"unit":"","unit_price":null}],"billing_contact":{"name":"","email":"","locale":"'
    b'","kind":"paas","period_start":"20","period_end":"20","amount":"","tax_rate":"0.21","tax":"'
    b',"quantity":null,"unit":"","unit_price":null},{"line_id":"L","order_id":"","product":"'
    b'","kind":"saas","period_start":"20","period_end":"20","amount":"","tax_rate":"0.21","tax":"'
    b'","issued_on":"20","due_on":"20","po_number":"PO-","lines":[{"line_id":"L1","order_id":"","product":"'
    b'{"number":"","order_id":"","account_id":"","subscription_id":"","currency":"EUR'
)

RECORDS = JsonRecords(
    TypeAdapter(Invoice), "invoice", MARKER_2, DICTIONARY_2, InvoiceRecordUnreadable, earlier=((MARKER, DICTIONARY),)
)
#: `encode(invoice)`, an "i2" record; `decode(raw)` of any layout, which raises
#: InvoiceRecordUnreadable for a value neither JSON nor a record; `written_json(raw)`, the JSON
#: of the invoice `raw` holds (its record, not a fold) as it was written: bytes that never
#: change while it is kept, so what is kept beside it can be deflated with them as its dictionary.
encode, decode, written_json = RECORDS.encode, RECORDS.decode, RECORDS.written_json


# -- an invoice past retention, with what builds its documents again ------------------------------

#: Marks an invoice kept with its documents' description and source (`fold`): retention moves
#: them out of the invoice's documents hash once the files are dropped, so a delivered invoice
#: past retention is one key, not two (~390 B of a hash for ~180 B more in this one).
KEPT_MARKER = b"k1"

#: The preset dictionary of a folded description (`InvoiceDocuments` in worker/store/documents.py:
#: its JSON, the reasons of worker/domain/einvoice/policy.py): it never changes (a test pins
#: its digest); a better one takes a new KEPT_MARKER.
META_DICTIONARY = (
    b"the buyer's address with its city and postal_code; the buyer's buyer_reference (its Leitweg-ID); "
    b"the account asks for no e-invoice: the PDF alone; the account asks for "
    b"has no e-invoice policy: the PDF alone's policy is UBL (Peppol)XRechnungFactur-X needs "
    b"the buyer's peppol_id; sent as the PDF alone; sent as Factur-X"
    b'{"einvoice": "facturx", "ubl", "xrechnung", "none", "reason": "", "pdf": ".pdf", "xml": null}'
)


@dataclass(frozen=True)
class Kept:
    """What an invoice's key holds: the invoice's record, and, once retention folded them in,
    its documents' description (JSON) and their sealed source (both None before)."""

    record: bytes
    meta: bytes | None = None
    source: bytes | None = None


def fold(record: bytes, meta: bytes, source: bytes) -> bytes:
    """The invoice's record `record` (as kept: `encode`'s, or JSON of before) with its documents'
    description `meta` (JSON) and their sealed `source` (opaque bytes, kept as they are)."""
    return KEPT_MARKER + netstrings.encode(record) + netstrings.encode(pack(meta, META_DICTIONARY)) + source


def split(raw: bytes) -> Kept:
    """What `raw`, an invoice's key, holds (a fold, or the invoice's record alone).

    Raises:
      InvoiceRecordUnreadable: a fold whose framing or description is broken.
    """
    if not raw.startswith(KEPT_MARKER):
        return Kept(raw)
    try:
        record, pos = netstrings.read(raw, len(KEPT_MARKER))
        packed, pos = netstrings.read(raw, pos)
    except ValueError as exc:
        raise InvoiceRecordUnreadable(f"a stored invoice's folded documents are broken: {exc}") from None
    try:
        meta = unpack(packed, META_DICTIONARY)
    except PackedUnreadable as exc:
        raise InvoiceRecordUnreadable(f"a stored invoice's folded documents {exc}") from None
    return Kept(record, meta, raw[pos:])


def decode_kept(raw: bytes) -> Invoice:
    """The invoice an invoice's key holds, folded or not.

    Raises:
      InvoiceRecordUnreadable: as `decode`, or a broken fold.
    """
    return decode(split(raw).record)
