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

#: Marks a record of before 2026-12-08 (packed with `DICTIONARY`): still read.
MARKER = b"d1"

#: The preset dictionary of every "d1" record: it never changes (a test pins its digest).
DICTIONARY = (
    b'"bounced","failed","suppressed","deferred","unknown","sending","error":"","resend":'
    b'"450 4.2.0 ","550 5.1.1 ","421 4.7.0 ","dkim_signature":"DKIM-Signature: v=1; a=rsa-sha256; '
    b'"context":{},"kind":"payment_failed","reward_code","redemption","reminder","credit_note",'
    b'"log":[{"at":,"attempt":{"state":"accepted","reply":"250 OK"},"binary":{"message_digest":"'
    b'"states":{["to","accepted","250 OK",1,null,0],"["cc","locale":"en-US","de-DE","nl-NL",'
    b'"message_id":"<@invoice-worker.example>","recipients":"{"to": [{"name": "", "email": ""}], '
    b'"cc": [{"name": "", "email": "{"fields":{"kind":"invoice","key":"INV-","created_at":"'
)

#: Marks a record written since 2026-12-08, packed with `DICTIONARY_2`. A later layout takes a
#: new marker and keeps these readable.
MARKER_2 = b"d2"

#: The preset dictionary of every "d2" record: it never changes (a test pins its digest). The
#: record's JSON in the order it is written, where "d1"'s named its fields in another order and
#: the recipients' JSON without the escapes it has inside a string; and its history's attempt
#: that every recipient's final state tells is kept as `_FINAL` (`_elide`): 295 -> 255 B a
#: record (the bench's delivered invoices, median). The likeliest strings come last.
DICTIONARY_2 = (
    b'"bounced","failed","suppressed","deferred","unknown","sending","error":"","resend":'
    b'"450 4.2.0 ","550 5.1.1 ","421 4.7.0 ","451 4.7.1 ","552 5.2.2 ","dkim_signature":"DKIM-Signature: v=1; '
    b'a=rsa-sha256; c=relaxed/relaxed; d=","context":{},"payment_failed","reward_code","redemption",'
    b'"reminder","credit_note","usage","250 2.6.0 <","250 OK","250 2.0.0 OK ","250 2.0.0 Ok: queued as '
    b'"locale":"en-US","en-GB","de-DE","fr-FR","es-ES","it-IT","ja-JP","nl-NL",'
    b'\\", \\"email\\": \\"\\"}, {\\"name\\": \\"'
    b'"}},{"at":17,"attempt":{"'
    b'","recipients":"{\\"to\\": [{\\"name\\": \\"\\", \\"email\\": \\"\\"}], \\"cc\\": [{\\"name\\": \\"'
    b'{"fields":{"created_at":"17'
    b',null,0],"'
    b'":{"state":"accepted","reply":"250 2.0.0 Ok"},"'
    b'":["cc","accepted","250 2.0.0 Ok",1,17'
    b'":["to","accepted","250 2.0.0 Ok",1,17'
    b'","message_id":"<'
    b'","key":"INV-000'
    b'","kind":"invoice"},"binary":{"message_digest":"'
    b',null,0]},"log":[{"at":17'
    b',"attempt":"states"}]}'
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


RECORDS = JsonRecords(
    TypeAdapter(FoldedDelivery),
    "delivery record",
    MARKER_2,
    DICTIONARY_2,
    DeliveryRecordUnreadable,
    earlier=((MARKER, DICTIONARY),),
    json_before=False,  # no release wrote one
)


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
    record = decode(raw)
    final = _final_outcomes(record.states)
    fields = {k.encode(): v.encode() for k, v in record.fields.items()}
    fields.update({k.encode(): bytes.fromhex(v) for k, v in record.binary.items()})
    return {
        "fields": fields,
        "states": {k.encode(): _text(v) for k, v in record.states.items()},
        "log": [_text(_expand(entry, final)) for entry in record.log],
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
    merged_states = {k.decode(): json.loads(v) for k, v in {**before["states"], **states}.items()}
    final = _final_outcomes(merged_states)
    return RECORDS.encode(
        FoldedDelivery(
            fields=text,
            binary=binary,
            states=merged_states,
            log=[_elide(json.loads(entry), final) for entry in [*before["log"], *log]],
        )
    )


#: What a "d2" record's history entry holds for an attempt whose outcomes are every
#: recipient's final state (`_elide`).
_FINAL = "states"


def _final_outcomes(states: dict[str, Any]) -> dict[str, Any] | None:
    """The attempt that each recipient's final state tells, as the history writes one
    (worker/services/sending.py), or None when a state is not an array (kept before arrays)."""
    if not all(isinstance(state, list) and len(state) >= 3 for state in states.values()):
        return None
    return {address: {"state": state[1], "reply": state[2]} for address, state in states.items()}


def _elide(entry: Any, final: dict[str, Any] | None) -> Any:
    """A history entry as a "d2" record keeps it: an attempt whose outcomes are, recipient by
    recipient and in their order, `final` (`_final_outcomes`: a delivery's one attempt, mostly)
    is told by `_FINAL` instead: ~12 B a record. Any other entry is kept as it is."""
    if final is None or not isinstance(entry, dict) or not isinstance(entry.get("attempt"), dict):
        return entry
    if list(entry["attempt"].items()) != list(final.items()):
        return entry
    return {**entry, "attempt": _FINAL}


def _expand(entry: Any, final: dict[str, Any] | None) -> Any:
    """The history entry that `_elide` kept as `entry`, `final` being the same outcomes."""
    if isinstance(entry, dict) and entry.get("attempt") == _FINAL:
        return {**entry, "attempt": final}
    return entry


#: `encode(record)`, a "d2" record, and `decode(raw)` of either layout, which raises
#: DeliveryRecordUnreadable for a value that is neither.
encode, decode = RECORDS.encode, RECORDS.decode
