"""How an invoice is kept in Redis: its JSON deflated with a preset dictionary (`packed_json`),
after a marker. An invoice outlives its message and documents (retention drops those), so it is
most of what a delivered invoice leaves in Redis: ~1.6 KB as JSON, ~0.5 KB as a record. Only
Python reads it back; the settle script stores the bytes it is given.

An invoice stored before records existed is JSON (it starts with ``{``) and is read as it is.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from worker.domain.model import Invoice
from worker.store.packed_json import JsonRecords

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


RECORDS = JsonRecords(TypeAdapter(Invoice), "invoice", MARKER, DICTIONARY, InvoiceRecordUnreadable)
#: `encode(invoice)`, and `decode(raw)`, which raises InvoiceRecordUnreadable for a value neither JSON nor a record.
encode, decode = RECORDS.encode, RECORDS.decode
