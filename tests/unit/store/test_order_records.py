"""An order as Redis keeps it: a compact record that reads back as the same order, with a header
the Lua scripts read, and JSON of before still readable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tests.support.billing_examples import ELS, order, order_line, three_year_order
from tests.support.store_layout import order_record_before
from worker.domain.model import Contact, Order
from worker.store import netstrings, order_records
from worker.store.order_records import OrderRecordUnreadable

ids = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=100)


@settings(max_examples=200, deadline=None)
@given(
    order_id=ids,
    account_id=ids,
    subscription_id=ids,
    line_ids=st.lists(ids, min_size=1, max_size=12, unique=True),
    event_id=st.none() | ids,
    name=st.text(max_size=200),
)
def test_every_order_reads_back_equal_with_its_booking_event(
    order_id, account_id, subscription_id, line_ids, event_id, name
):
    # Given any ids (colons, digits, non-Latin text: the header is length-prefixed) and lines
    booked = order(
        *(order_line(line_id, total_contract_value=Decimal("36000.00"), term_months=36) for line_id in line_ids),
        order_id=order_id,
        account_id=account_id,
        subscription_id=subscription_id,
        billing_contact=Contact(name=name, email="els@acme.example"),
    )
    # When it is kept as a record
    record = order_records.encode(booked, event_id)
    # Then it decodes to the same order, and the booking event is in it
    assert order_records.decode(record) == booked
    assert order_records.booking_event(record) == event_id


def test_a_three_line_order_takes_a_third_of_its_json():
    # Given the benchmark's open-window order: three lines, a billing contact, a term
    booked = order(
        *(order_line(f"L{n}", annual_amount=Decimal("12000.00")) for n in (1, 2, 3)),
        order_id="W-1a2b3c4d-000001",
        account_id="WA-1a2b3c4d",
        subscription_id="WS-1a2b3c4d-000001",
        billing_contact=Contact("Els de Vries", "billing@w000001.example", "nl-NL"),
        po_number=None,
        currency="EUR",
    )
    as_json = TypeAdapter(Order).dump_json(booked, exclude_defaults=True)
    # When it is kept as a record
    record = order_records.encode(booked, "1a2b3c4d-wo-000001")
    # Then it is under a third of its JSON (~200 bytes of ~640), ids and header included
    assert len(record) * 3 < len(as_json)


def test_the_header_names_the_account_subscription_event_and_lines_in_netstrings():
    record = order_records.encode(three_year_order(), "e:order 1")
    # "o4", then account, subscription, event, line count, line ids: each "<bytes>:<text>"
    assert record.startswith(b"o4" + b"5:A-100" + b"3:S-1" + b"9:e:order 1" + b"1:1" + b"2:L1")


def test_a_record_of_before_its_body_packed_with_the_first_dictionary_reads_back():
    booked = three_year_order(billing_contact=Contact(name="Els", email="els@acme.example"), po_number="PO-9")
    old = order_record_before(booked, "e-1")
    assert old.startswith(b"o1") and order_records.decode(old) == booked
    assert order_records.booking_event(old) == "e-1"
    # and the second dictionary makes the body smaller
    assert len(order_records.encode(booked, "e-1")) < len(old) - 15


def test_an_order_kept_as_json_before_records_reads_back():
    # Given an order stored as JSON, as before 2026-12-02
    booked = three_year_order()
    legacy = TypeAdapter(Order).dump_json(booked, exclude_defaults=True)
    # Then it reads back, and it names no booking event (that one is in a key of its own)
    assert order_records.decode(legacy) == booked
    assert order_records.booking_event(legacy) is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"o9" + b"5:A-100", "neither JSON nor one of o1, o2, o3, o4, o5"),
        (b"o1" + b"99:A-100", "runs past the end"),
        (b"o1" + b"x:A-100", "header is broken"),
        (order_records.encode(three_year_order())[:-8], "does not inflate"),
    ],
)
def test_a_broken_record_is_refused_saying_what_is_wrong(raw, says):
    with pytest.raises(OrderRecordUnreadable, match=says):
        order_records.decode(raw)


def test_the_dictionaries_of_o1_and_o4_records_never_change():
    # Records written with it must inflate for as long as they live: a better dictionary takes
    # a new marker, and this one stays readable
    assert order_records.MARKER == b"o1"
    assert hashlib.sha256(order_records.DICTIONARY).hexdigest()[:16] == "d9843027ec0e9808"
    assert order_records.MARKER_2 == b"o4"
    assert hashlib.sha256(order_records.DICTIONARY_2).hexdigest()[:16] == "15df897c4178550a"


def test_a_record_keeps_every_field_of_an_order_and_its_lines():
    # A field added to Order later is kept too: the body is the whole order as JSON
    booked = three_year_order(billing_contact=ELS, po_number="PO-9")
    body = json.loads(TypeAdapter(Order).dump_json(order_records.decode(order_records.encode(booked))))
    assert set(body) == set(asdict(booked))


def test_line_state_is_none_in_a_record_without_it_and_a_field_without_its_value_is_refused():
    booked = three_year_order()
    record = order_records.encode(booked, "e-1")
    assert order_records.line_state(record) == []
    assert order_records.line_state(order_record_before(booked, "e-1")) == []
    # Given a record as the scripts wrote it with a line's state before 2026-12-08 ("o2": the
    # body framed, the state plain)
    with_lines = order_record_before(booked, "e-1", b"L1", b"1.0 0 a-1")
    # Then it reads as the same order, with its line state, flat as the hash gives it
    assert order_records.decode(with_lines) == booked
    assert order_records.line_state(with_lines) == [b"L1", b"1.0 0 a-1"]
    assert order_records.booking_event(with_lines) == "e-1"
    with pytest.raises(order_records.OrderRecordUnreadable, match="without its value"):
        order_records.line_state(with_lines + netstrings.encode(b"L2"))


@pytest.mark.parametrize("marker", [b"o3", b"o5"])
def test_a_front_coded_line_state_reads_as_the_hash_would_give_it_and_a_broken_one_is_refused(marker):
    booked = three_year_order()
    # ("o3": an "o1" record's body; "o5": an "o4" record's, packed with the second dictionary)
    record = order_record_before(booked, "e-1") if marker == b"o3" else order_records.encode(booked, "e-1")
    fields = [booked.account_id, booked.subscription_id, "e-1", "1", booked.lines[0].line_id]
    header = b"".join(netstrings.encode(f.encode()) for f in fields)
    packed = record[len(b"o1" + header) :]
    # Given a record with its line state as the scripts write it since "o3": each value after
    # the bytes it shares with the value before it
    state = (
        netstrings.encode(b"L1")
        + b"0+"
        + netstrings.encode(b"1.0 0 act-1-L1")
        + netstrings.encode(b"L2")
        + b"13+"
        + netstrings.encode(b"2")
        + netstrings.encode(b"\x00L1")
        + b"0+"
        + netstrings.encode(b"INV-7")
        + netstrings.encode(b"\x00L2")
        + b"5+"
        + netstrings.encode(b"")
    )
    front_coded = marker + header + netstrings.encode(packed) + state
    # Then it reads as the same order, its line state whole, flat as the hash gives it
    assert order_records.decode(front_coded) == booked
    assert order_records.line_state(front_coded) == [
        b"L1",
        b"1.0 0 act-1-L1",
        b"L2",
        b"1.0 0 act-1-L2",
        b"\x00L1",
        b"INV-7",
        b"\x00L2",
        b"INV-7",
    ]
    assert order_records.booking_event(front_coded) == "e-1"
    # And a value that claims more than the one before it had, or no count at all, is refused
    for broken in (b"9+" + netstrings.encode(b"x"), netstrings.encode(b"x")):
        with pytest.raises(order_records.OrderRecordUnreadable, match="front-coded value that is broken"):
            order_records.line_state(front_coded + netstrings.encode(b"L3") + broken)
