"""What retention leaves of a delivery: its hash, recipients' states and history folded into one
record that reads back as the very keys it came from, at under half their size; what changed
since it was folded laid over it; broken records refused."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.domain.delivery import Outcome, RecipientState
from worker.store import delivery_records, recipient_records
from worker.store.packed_json import pack

BILLING, AR = "billing@customer0.example", "ar@customer0.example"
ACCEPTED = RecipientState(
    address=BILLING,
    role="to",
    state=Outcome.ACCEPTED,
    reply="250 OK",
    attempts=1,
    first_attempt_at=1796324305.597277,
    updated_at=1796324305.728916,
)
FIELDS = {
    b"kind": b"invoice",
    b"key": b"INV-0000001",
    b"created_at": b"1796324305.527596",
    b"recipients": json.dumps(
        {"to": [{"name": "Els de Vries", "email": BILLING}], "cc": [{"name": "Zoë O'Brien", "email": AR}]}
    ).encode(),
    b"message_id": b"<7q7c4ybs6rczwp4fl2lpw3xrjy@invoice-worker.example>",
    b"locale": b"en-US",
    b"closed_by": b"8203e0c40ad0e5e5",
}
STATES = {
    BILLING.encode(): recipient_records.encode(BILLING, ACCEPTED).encode(),
    AR.encode(): recipient_records.encode(AR, ACCEPTED).encode(),
}
LOG = [
    json.dumps(
        {"at": 1796324305.728916, "attempt": {a: {"state": "accepted", "reply": "250 OK"} for a in (BILLING, AR)}}
    ).encode()
]
DIGEST = bytes.fromhex("27eac68e3ce0d1fc2657fc4c12854eaf")


def test_a_folded_delivery_reads_back_as_its_keys_without_the_message_at_under_half_their_text():
    # Given a delivered invoice's hash (with its message), recipients' states and history
    fields = {**FIELDS, b"message": b"\x00sealed" * 1000}
    # When retention folds them, keeping the message's digest
    raw = delivery_records.fold(None, fields, STATES, LOG, {"message_digest": DIGEST})
    # Then the record reads back as those keys, without the message or an attempt's bookkeeping
    back = delivery_records.unfold(raw)
    expected = {k: v for k, v in FIELDS.items() if k != b"closed_by"}
    assert back["fields"] == {**expected, b"message_digest": DIGEST}
    assert {a: recipient_records.decode(a.decode(), v) for a, v in back["states"].items()} == {
        BILLING.encode(): ACCEPTED,
        AR.encode(): recipient_records.decode(AR, STATES[AR.encode()]),
    }
    assert [json.loads(e) for e in back["log"]] == [json.loads(e) for e in LOG]
    # And it takes under half of what the three keys held as text
    held = sum(len(k) + len(v) for k, v in [*expected.items(), *STATES.items()]) + sum(map(len, LOG))
    assert len(raw) < held / 2


def test_what_came_after_the_fold_is_laid_over_it_and_folded_in_next_time():
    # Given a folded delivery, then a late bounce for one recipient and its history entry
    first = delivery_records.fold(None, FIELDS, STATES, LOG, {"message_digest": DIGEST})
    bounced = RecipientState(address=AR, role="cc", state=Outcome.BOUNCED, reply="550 5.1.1 no such user")
    late_states = {AR.encode(): recipient_records.encode(AR, bounced).encode()}
    late_log = [json.dumps({"at": 1799000000.0, "bounce": {AR: "550 5.1.1 no such user"}}).encode()]
    # When they are folded in
    again = delivery_records.unfold(delivery_records.fold(first, {b"closed_by": b"x"}, late_states, late_log, {}))
    # Then the bounce replaces the recipient's state, the history runs on, the rest stands
    assert recipient_records.decode(AR, again["states"][AR.encode()]) == bounced
    assert recipient_records.decode(BILLING, again["states"][BILLING.encode()]) == ACCEPTED
    assert [json.loads(e) for e in again["log"]] == [json.loads(e) for e in [*LOG, *late_log]]
    assert again["fields"][b"message_digest"] == DIGEST and again["fields"][b"key"] == b"INV-0000001"


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@given(
    fields=st.dictionaries(st.text("abcdefghij_", min_size=1, max_size=12), st.binary(max_size=40), max_size=6),
    replies=st.dictionaries(
        st.text("abcxyz.", min_size=1, max_size=10).map(lambda s: f"{s}@x.example"), text, max_size=3
    ),
)
def test_any_fields_and_replies_come_back_byte_for_byte(fields, replies):
    # Given any hash fields (binary ones too) and any recipients' replies
    raw_fields = {k.encode(): v for k, v in fields.items() if k not in ("message", "closed_by")}
    states = {
        a.encode(): recipient_records.encode(a, RecipientState(address=a, role="to", reply=r)).encode()
        for a, r in replies.items()
    }
    # When folded and read back
    back = delivery_records.unfold(delivery_records.fold(None, raw_fields, states, [], {}))
    # Then each field is the same bytes, and each state the same state
    assert back["fields"] == raw_fields
    assert {a: recipient_records.decode(a.decode(), v) for a, v in back["states"].items()} == {
        a: recipient_records.decode(a.decode(), v) for a, v in states.items()
    }


def test_nothing_folded_reads_as_nothing():
    assert delivery_records.unfold(None) == {"fields": {}, "states": {}, "log": []}


@pytest.mark.parametrize("raw", [b'{"fields": {}}', b"i1" + b"\x00" * 20])
def test_a_value_that_is_not_a_delivery_record_is_refused(raw):
    with pytest.raises(delivery_records.DeliveryRecordUnreadable, match="a stored delivery record starts with"):
        delivery_records.unfold(raw)


def test_the_dictionaries_of_d1_and_d2_records_never_change():
    # A record is inflated with the dictionary it was packed with: changing it takes a new marker
    assert hashlib.sha256(delivery_records.DICTIONARY).hexdigest()[:16] == "bfbcff2ceb5d07e1"
    assert hashlib.sha256(delivery_records.DICTIONARY_2).hexdigest()[:16] == "28b159db55797311"


def test_a_record_folded_by_the_release_before_reads_back_and_is_folded_again_as_d2():
    # Given a delivery folded as the release of 2026-12-07 folded it ("d1")
    fields = {**FIELDS, b"message_digest": DIGEST}
    folded = delivery_records.decode(delivery_records.fold(None, fields, STATES, LOG, {}))
    old = delivery_records.MARKER + pack(
        delivery_records.RECORDS.adapter.dump_json(folded), delivery_records.DICTIONARY
    )
    # Then it reads back as the same keys, and folding it again (a late bounce) writes "d2"
    assert delivery_records.unfold(old) == delivery_records.unfold(delivery_records.fold(None, fields, STATES, LOG, {}))
    again = delivery_records.fold(old, {}, {}, [], {})
    assert again.startswith(b"d2")
    assert delivery_records.unfold(again) == delivery_records.unfold(old)


def test_an_attempt_that_the_final_states_tell_is_kept_once_and_reads_back_whole():
    # Given a delivery whose one attempt ended as each recipient's state, and another whose
    # first attempt was deferred (its outcome is not the final state)
    deferred = json.dumps({"at": 1.0, "attempt": {BILLING: {"state": "deferred", "reply": "451 4.7.1 later"}}})
    one = delivery_records.fold(None, FIELDS, STATES, LOG, {})
    two = delivery_records.fold(None, FIELDS, STATES, [deferred.encode(), *LOG], {})
    # Then each history reads back whole, the deferred attempt as it was
    assert [json.loads(e) for e in delivery_records.unfold(one)["log"]] == [json.loads(e) for e in LOG]
    assert [json.loads(e) for e in delivery_records.unfold(two)["log"]] == [
        json.loads(deferred),
        *(json.loads(e) for e in LOG),
    ]
    # And the one that the states tell is not kept twice: it costs a few bytes, not its outcomes
    whole = delivery_records.RECORDS.adapter.dump_json(delivery_records.decode(one))
    assert b'"attempt":"states"' in whole and b"250 OK" not in whole.split(b'"log"')[1]
    # And a late bounce after the fold (a state changed) keeps the attempt's outcomes as they were
    bounced = json.loads(STATES[AR.encode()])
    bounced[1] = "bounced"
    again = delivery_records.fold(one, {}, {AR.encode(): json.dumps(bounced).encode()}, [], {})
    assert [json.loads(e) for e in delivery_records.unfold(again)["log"]] == [json.loads(e) for e in LOG]
