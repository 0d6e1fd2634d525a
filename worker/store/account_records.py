"""How an account snapshot is kept in Redis: its JSON deflated with a preset dictionary
(`packed_json`), after a marker. Every order's window and every invoice's documents read it; most
of its bytes are field names (~380-490 B of JSON, ~80-180 B as a record). The Lua scripts that load a
window or a subscription hand the bytes to Python unread.

An account stored before records existed is JSON (it starts with ``{``) and is read as it is.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from worker.domain.model import Account
from worker.store.packed_json import JsonRecords

#: Marks a record (JSON starts with "{"). A later layout takes a new marker and keeps this one readable.
MARKER = b"a1"

#: The preset dictionary of every "a1" record: it never changes (a test pins its digest); a
#: better one takes a new MARKER. The likeliest strings come last.
DICTIONARY = (
    b'"region":"postal_code":"einvoice":"ubl","facturx","xrechnung","none","peppol_id":"0088:","0106:",'
    b'"0208:","9925:","9930:","9944:","buyer_reference":"vat_id":"NL","DE","BE","FR",'
    b'"address":{"lines":["],"city":"","country":"public","sector":"commercial","ula":true,'
    b'"pay_as_you_go":true,"locale":"nl-NL","en-US","de-DE","fr-FR","B.V.","GmbH","Ltd","Inc.",'
    b'"legal_name":"","address":null,"vat_id":null,"buyer_reference":null,"peppol_id":null,"einvoice":"auto"}'
    b'"account_relationship":{"name":"","email":"","locale":null},'
    b'"ula":false,"pay_as_you_go":false,"dunning":{"name":"","email":"","locale":null},'
    b'{"account_id":"","name":"","country":"NL","sector":"commercial",'
)


class AccountRecordUnreadable(ValueError):
    """A stored account is neither JSON nor a record of a known layout."""


RECORDS = JsonRecords(TypeAdapter(Account), "account", MARKER, DICTIONARY, AccountRecordUnreadable)
#: `encode(account)`, and `decode(raw)`, which raises AccountRecordUnreadable for a value neither JSON nor a record.
encode, decode = RECORDS.encode, RECORDS.decode
