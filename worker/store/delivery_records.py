"""What a delivery leaves in Redis once retention has dropped its message: one record, its hash,
its recipients' states and its history folded together and deflated with a preset dictionary
(`packed_json`), after a marker, in a string key of its own (`Keys.delivery_record`).

Every delivered email keeps these for good (`status` shows them), and as three keys they were a
third of what a delivered invoice leaves past retention (~1.4 KB: each key's overhead, the
addresses written three times, a hash too large for Redis's compact encoding when signed); the
record is ~0.3 KB. A folded delivery can still change: a late bounce, a `resend` or a rebuild
writes its keys as before, and a reader lays them over the record (`unfold`) until retention
folds them in too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypedDict

from pydantic import TypeAdapter

from worker.store.packed_json import JsonRecords

#: Marks a record. A later layout takes a new marker and keeps this one readable.
MARKER = b"d1"

#: The preset dictionary of every "d1" record: it never changes (a test pins its digest); a
#: better one takes a new MARKER. The likeliest strings come last.
DICTIONARY = (
    b'"bounced","failed","suppressed","deferred","unknown","sending","error":"","resend":'
    b'"450 4.2.0 ","550 5.1.1 ","421 4.7.0 ","dkim_signature":"DKIM-Signature: v=1; a=rsa-sha256; '
    b'"context":{},"kind":"payment_failed","reward_code","redemption","reminder","credit_note",'
    b'"log":[{"at":,"attempt":{"state":"accepted","reply":"250 OK"},"binary":{"message_digest":"'
    b'"states":{["to","accepted","250 OK",1,null,0],"["cc","locale":"en-US","de-DE","nl-NL",'
    b'"message_id":"<@invoice-worker.example>","recipients":"{"to": [{"name": "", "email": ""}], '
    b'"cc": [{"name": "", "email": "{"fields":{"kind":"invoice","key":"INV-","created_at":"'
)

#: Fields of the hash that a record leaves out: the message (what retention drops) and the
#: bookkeeping of one attempt's close (close_attempt.lua), over once the delivery is final.
LEFT_OUT = frozenset({b"message", b"closed_by"})


@dataclass(frozen=True)
class FoldedDelivery:
    #: The hash's fields whose values are text, as they were kept.
    fields: dict[str, str]
    #: Its other fields (the message's 16-byte digest), as hex.
    binary: dict[str, str]
    #: Each recipient's state, the JSON `recipient_records` keeps.
    states: dict[str, Any]
    #: The history, oldest first: the JSON of each entry.
    log: list[Any]


class DeliveryRecordUnreadable(ValueError):
    """A stored delivery record is not one of a known layout."""


RECORDS = JsonRecords(TypeAdapter(FoldedDelivery), "delivery record", MARKER, DICTIONARY, DeliveryRecordUnreadable)


class Unfolded(TypedDict):
    """A record as the keys it folded would hold it, for a reader to lay the live keys over."""

    fields: dict[bytes, bytes]
    states: dict[bytes, bytes]
    log: list[bytes]


def _text(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def unfold(raw: bytes | None) -> Unfolded:
    """What a record holds (nothing for None), as the hash, recipients' hash and history list it
    was folded from would hold it.

    Raises:
      DeliveryRecordUnreadable: `raw` is not a record of a known layout.
    """
    if raw is None:
        return {"fields": {}, "states": {}, "log": []}
    if raw.startswith(b"{"):  # decode() would take JSON; no release wrote one
        raise DeliveryRecordUnreadable(f"a stored delivery record starts with {raw[:2]!r}, not {MARKER!r}")
    record = RECORDS.decode(raw)
    fields = {k.encode(): v.encode() for k, v in record.fields.items()}
    fields.update({k.encode(): bytes.fromhex(v) for k, v in record.binary.items()})
    return {
        "fields": fields,
        "states": {k.encode(): _text(v) for k, v in record.states.items()},
        "log": [_text(entry) for entry in record.log],
    }


def fold(
    record: bytes | None,
    fields: dict[bytes, bytes],
    states: dict[bytes, bytes],
    log: list[bytes],
    kept: dict[str, bytes],
) -> bytes:
    """The record of a delivery: the one kept before (`record`, or None) with the live keys'
    `fields`, `states` and `log` laid over it, and the fields `kept` set (what tells a rebuilt
    message: its digest, its DKIM-Signature); without the message."""
    before = unfold(record)
    merged = {**before["fields"], **fields, **{k.encode(): v for k, v in kept.items()}}
    text, binary = {}, {}
    for name, value in merged.items():
        if name in LEFT_OUT:
            continue
        try:
            text[name.decode()] = value.decode()
        except UnicodeDecodeError:
            binary[name.decode()] = value.hex()
    return RECORDS.encode(
        FoldedDelivery(
            fields=text,
            binary=binary,
            states={k.decode(): json.loads(v) for k, v in {**before["states"], **states}.items()},
            log=[json.loads(entry) for entry in [*before["log"], *log]],
        )
    )


#: `encode(record)`, and `decode(raw)`, which raises DeliveryRecordUnreadable for a value not a record.
encode, decode = RECORDS.encode, RECORDS.decode
