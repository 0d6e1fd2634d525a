"""Ingest of hostile input (worker/services/ingest.py) against the tests' Redis and SMTP server:
every bad line is dead-lettered with its reason, the good lines around it still go in and are
invoiced; dead letters are kept once per content; an id reused with other data is refused, at
ingest and where events are applied."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import dramatiq
import pytest

from tests.support.contract_events import account_updated, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from worker.contract.jsonlines import MAX_LINE_BYTES, canonical_digest
from worker.errors import InvalidEvent
from worker.services.apply_events import apply_event
from worker.services.ingest import ingest_lines

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def raw(event: dict) -> bytes:
    return json.dumps(event).encode()


def order_events(n: int) -> list[bytes]:
    """Order O-n with one line and its activation: one invoice once applied."""
    return [
        raw(order_booked(f"O-{n}", lines=[line("L1", f"Product {n}")], event_id=f"o{n}")),
        raw(service_activated(f"O-{n}", "L1", "2026-01-01T09:00:00Z", event_id=f"a{n}")),
    ]


def invoiced_orders(harness: Harness) -> list[str]:
    return sorted(row["invoice"]["order_id"] for row in harness.status())


def test_each_hostile_line_is_dead_lettered_with_its_reason_and_the_good_lines_around_it_are_invoiced(
    harness, smtp_server
):
    # Given a file whose first line starts with a BOM, and hostile lines between good events
    hostile = {
        "utf8": b'{"id": "bad-utf8", "type": "account.updated", "data": {"name": "Caf\xe9"}}',
        "deep": b'{"id": "deep", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        "huge": b'{"id": "huge", "data": "' + b"x" * MAX_LINE_BYTES + b'"}',
        "nan": b'{"id": "nan", "data": {"amount": NaN}}',
        "twice": b'{"id": "a", "id": "b"}',
        "surrogate": b'{"id": "sur", "type": "account.updated", "data": {"name": "\\udc00"}}',
        "digits": b'{"id": "digits", "data": {"n": ' + b"7" * 10_000 + b"}}",
        "array": b"[1, 2, 3]",
    }
    lines = [b"\xef\xbb\xbf" + raw(account_updated(event_id="acc"))]
    for n, bad in enumerate(hostile.values()):
        lines += [*order_events(n), bad]
    lines += order_events(len(hostile))
    # When it is ingested and the worker drains the queues
    report = ingest_lines(harness.pipeline, lines)
    harness.drain()
    # Then every good event went in and every order is invoiced, the first (BOM) line's account too
    assert report.accepted == 1 + 2 * (len(hostile) + 1)
    assert invoiced_orders(harness) == sorted(f"O-{n}" for n in range(len(hostile) + 1))
    assert all(m.message["To"] for m in smtp_server.messages) and len(smtp_server.messages) == len(hostile) + 1
    # And each hostile line is rejected with its line number and reason, and dead-lettered
    reasons = {r.line_no: r.error.reason for r in report.rejections}
    assert list(reasons) == [4 + 3 * n for n in range(len(hostile))]
    expected = [
        "not valid UTF-8: byte 0xe9 at byte offset 67 of the line",
        "objects and arrays nest more than 32 deep",
        f"the line is {MAX_LINE_BYTES + 26} bytes long; at most {MAX_LINE_BYTES} are accepted",
        "NaN is not a JSON number",
        "the key 'id' appears twice in one object",
        "an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)",
        "a number has more than 4300 digits",
        "a line holds one JSON object, not an array",
    ]
    assert list(reasons.values()) == expected
    dead = harness.dead_letters()
    assert [d["reason"] for d in dead] == expected
    # Nothing of an unreadable line is kept but where it was, its length and digest
    assert dead[2]["event"]["line"] == 10 and dead[2]["event"]["bytes"] == MAX_LINE_BYTES + 26
    assert "xxxx" not in json.dumps(dead)


def test_the_same_bad_line_at_the_same_number_of_two_files_is_one_dead_letter_and_other_bad_lines_are_kept(harness):
    # Given two files with a different bad line at line 2, the first ingested twice
    first = [raw(account_updated(event_id="acc")), b"{not json", b"[1]"]
    second = [raw(account_updated(event_id="acc")), b"{also not json"]
    # When they are ingested
    for lines in (first, second, first):
        ingest_lines(harness.pipeline, lines)
    # Then each distinct bad line is dead-lettered once, whatever its line number
    dead = harness.dead_letters()
    assert sorted(d["event"]["line"] for d in dead) == [2, 2, 3]
    assert len(dead) == 3


def test_an_event_rejected_twice_is_one_dead_letter_and_another_event_under_its_id_is_another(harness):
    # Given two different bad events under one id, and the first again laid out otherwise
    bad = order_booked("O-1", currency="XYZ", event_id="bad-1")
    other = order_booked("O-1", currency="EURO", event_id="bad-1")
    ingest_lines(harness.pipeline, [raw(bad), raw(other), json.dumps(bad, indent=None, separators=(",", ":"))])
    # Then both are kept, the first once
    dead = harness.dead_letters()
    assert [(d["event_id"], d["field"]) for d in dead] == [("bad-1", "data.currency"), ("bad-1", "data.currency")]
    assert "XYZ" in dead[0]["reason"] and "EURO" in dead[1]["reason"]


def test_an_id_reused_with_other_data_is_refused_at_ingest_and_the_first_event_stands(harness, smtp_server):
    # Given an order booked with PO-77, and later the same event id with PO-99 (and a replay of the first)
    first = order_booked(event_id="e2", po_number="PO-77")
    reused = order_booked(event_id="e2", po_number="PO-99")
    ingest_lines(harness.pipeline, [raw(account_updated(event_id="e1")), raw(first)])
    # When the reused id comes, in another file, before the worker has applied the first
    report = ingest_lines(
        harness.pipeline,
        [raw(reused), raw(first), raw(service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="e3"))],
    )
    harness.drain()
    # Then it is rejected on `id`, counted in the summary and dead-lettered; the replay is silent
    assert report.accepted == 2
    assert [(r.line_no, r.error.event_id, r.error.field, r.error.reason) for r in report.rejections] == [
        (1, "e2", "id", "id e2 was first seen with different data")
    ]
    (dead,) = harness.dead_letters()
    assert dead["event_id"] == "e2" and dead["field"] == "id" and dead["event"]["data"]["po_number"] == "PO-99"
    # And the invoice is the first event's
    (msg,) = smtp_server.messages
    assert "PO-77" in msg.message.get_body(("plain",)).get_content()


def test_an_id_reused_with_other_data_is_refused_where_events_are_applied_too(harness, smtp_server):
    # Given an order and its activation applied
    ingest_lines(
        harness.pipeline,
        [
            raw(account_updated(event_id="e1")),
            raw(order_booked(event_id="e2", po_number="PO-77")),
            raw(service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="e3")),
        ],
    )
    harness.drain()
    # When queue messages that did not come through this ingest (another producer's, a
    # redelivery) carry those ids with other data, and one the same data
    harness.pipeline.actors.apply_events.send(
        [
            order_booked(event_id="e2", po_number="PO-99"),
            service_activated("O-1", "L2", "2026-01-05T09:00:00Z", event_id="e3"),
            service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="e3"),
        ]
    )
    harness.drain()
    # Then both are dead-lettered on `id`, nothing changed, and the replay had no effect
    dead = harness.dead_letters()
    assert [(d["event_id"], d["field"], d["reason"]) for d in dead] == [
        ("e2", "id", "id e2 was first seen with different data"),
        ("e3", "id", "id e3 was first seen with different data"),
    ]
    (msg,) = smtp_server.messages
    assert "PO-77" in msg.message.get_body(("plain",)).get_content()


class RecordMessages(dramatiq.Middleware):
    """Keeps every message enqueued on the broker."""

    def __init__(self) -> None:
        self.messages: list[dramatiq.Message] = []

    def before_enqueue(self, broker, message, delay) -> None:
        self.messages.append(message)


def test_ingest_remembers_each_ids_data_so_the_worker_does_not_look_it_up_again(harness, smtp_server):
    # Given ingest's queue messages recorded
    recorded = RecordMessages()
    harness.pipeline.broker.add_middleware(recorded)
    # When an order and its activation are ingested and applied
    ingest_lines(harness.pipeline, order_events(1))
    harness.drain()
    # Then the message says its ids' data were remembered (and reused ids refused) by ingest
    (message,) = [m for m in recorded.messages if m.actor_name == "apply_events"]
    events, remembered = message.args
    assert [e["id"] for e in events] == ["o1", "a1"] and remembered is True
    assert invoiced_orders(harness) == ["O-1"]


def test_an_event_marked_remembered_is_not_looked_up_and_one_not_marked_is(harness):
    # Given an id remembered with other data (a stand-in: only what the flag skips differs)
    booking = order_booked("O-7", lines=[line("L1", "Compute")], event_id="o7")

    async def scenario():
        app = harness.pipeline.app
        try:
            await app.store.events.seen_with_other_data("o7", canonical_digest({"other": "data"}))
            # When the event is applied as coming from ingest (remembered), then as not
            remembered = await apply_event(app, booking, remembered=True)
            try:
                await apply_event(app, booking)
            except InvalidEvent as exc:
                return remembered, exc
            return remembered, None
        finally:
            await app.aclose()

    remembered, refused = asyncio.run(scenario())
    # Then the first is applied without a lookup, and the second is refused on its id
    assert remembered == ["window:O-7"]
    assert refused is not None and refused.field == "id"


def test_a_big_rejected_event_is_dead_lettered_by_its_envelope_only(harness, redis_client):
    # Given an event of 300 kB that breaks the contract (an unknown type), and a small one
    big = {"id": "big-1", "type": "no.such", "occurred_at": "2026-01-01T00:00:00Z", "data": {"pad": "x" * 300_000}}
    small = dict(big, id="small-1", data={"pad": "x"})
    # When they are ingested
    report = ingest_lines(harness.pipeline, [raw(big), raw(small)])
    # Then both are rejected; the big one's dead letter keeps its envelope and why, not its body
    assert [r.error.event_id for r in report.rejections] == ["big-1", "small-1"]
    kept_big, kept_small = (d["event"] for d in harness.dead_letters())
    assert kept_big["id"] == "big-1" and kept_big["type"] == "no.such" and "data" not in kept_big
    assert kept_big["truncated"].startswith("the event is 300") and kept_small == small
    assert sum(len(v) for v in redis_client.lrange("iw:dead", 0, -1)) < 2_000
