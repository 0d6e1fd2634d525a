"""Failures during our own SMTP session, end to end: partial acceptance, a connection lost after
DATA, a stalled server, a server down for a while. Real Redis, real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.contract_events import contract_example
from tests.support.harness import Harness, make_settings
from worker.services.status import format_status

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BILLING, DUNNING, RELATIONSHIP = "els@acme.example", "ar@acme.example", "jan@acme.example"


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port, smtp_timeout_s=1.0), NOW)


def recipients(harness) -> dict[str, dict]:
    (row,) = harness.status("INV-0000001")
    return {r["address"]: r for r in row["recipients"]}


def test_partial_acceptance_retries_only_the_deferred_recipient_and_never_resends_to_the_accepted(harness, smtp_server):
    # Given a relay that answers the three recipients 250 / 550 / 452
    smtp_server.reply_for_rcpt = {RELATIONSHIP: "550 5.1.1 No such user", DUNNING: "452 4.2.2 Mailbox full"}
    harness.ingest(contract_example()[:3])
    harness.drain()
    (first,) = smtp_server.messages
    assert first.rcpt_tos == (BILLING,)
    states = {a: r["state"] for a, r in recipients(harness).items()}
    assert states == {BILLING: "accepted", DUNNING: "deferred", RELATIONSHIP: "rejected"}
    # When the mailbox has room again and the retry falls due (first retry after ~5 minutes)
    smtp_server.reply_for_rcpt = {}
    harness.clock.advance(seconds=200)
    harness.drain()
    assert len(smtp_server.messages) == 1  # not due yet
    harness.clock.advance(seconds=200)
    harness.drain()
    # Then only the deferred one is sent again, with the same Message-ID; the rejected one never
    assert [m.rcpt_tos for m in smtp_server.messages] == [(BILLING,), (DUNNING,)]
    assert smtp_server.messages[1].message["Message-ID"] == first.message["Message-ID"]
    final = recipients(harness)
    assert {a: r["state"] for a, r in final.items()} == {
        BILLING: "accepted",
        DUNNING: "accepted",
        RELATIONSHIP: "rejected",
    }
    assert final[BILLING]["attempts"] == 1 and final[DUNNING]["attempts"] == 2 and final[RELATIONSHIP]["attempts"] == 1


def test_a_connection_dropped_after_data_is_unknown_then_retried_with_the_same_message_id(harness, smtp_server):
    # Given a relay that hangs up after reading the message, before answering
    smtp_server.hang_up_after = "data"
    harness.ingest(contract_example()[:3])
    harness.drain()
    # Then every recipient's outcome is unknown, and status says so
    assert {r["state"] for r in recipients(harness).values()} == {"unknown"}
    (row,) = harness.status("INV-0000001")
    assert "outcome unknown" in format_status([row])
    message_id = row["message_id"]
    # When the relay behaves again and the retry falls due
    smtp_server.hang_up_after = None
    harness.clock.advance(seconds=400)
    harness.drain()
    # Then the message goes out with the Message-ID chosen before the first attempt
    (msg,) = smtp_server.messages
    assert msg.message["Message-ID"] == message_id
    assert {r["state"] for r in recipients(harness).values()} == {"accepted"}


def test_a_timeout_after_data_is_unknown_and_the_retry_carries_the_same_message_id(harness, smtp_server):
    # Given a relay that reads the data but does not answer within our 1 s timeout
    smtp_server.stall_stage, smtp_server.stall_s = "data", 3.0
    harness.ingest(contract_example()[:3])
    harness.drain()
    (row,) = harness.status("INV-0000001")
    assert {r["state"] for r in row["recipients"]} == {"unknown"}
    # When the retry falls due with the relay answering in time
    smtp_server.stall_s = 0.0
    harness.clock.advance(seconds=400)
    harness.drain()
    (msg,) = smtp_server.messages
    assert msg.message["Message-ID"] == row["message_id"]
    assert {r["state"] for r in recipients(harness).values()} == {"accepted"}


def test_a_reply_lost_after_the_relay_kept_the_message_is_the_one_duplicate_with_the_same_message_id(
    harness, smtp_server
):
    # Given a relay that keeps the message and then drops the connection instead of saying 250
    smtp_server.hang_up_after = "data_accepted"
    harness.ingest(contract_example()[:3])
    harness.drain()
    assert {r["state"] for r in recipients(harness).values()} == {"unknown"}
    smtp_server.hang_up_after = None
    harness.clock.advance(seconds=400)
    harness.drain()
    # Then the receiver got two copies it can recognise as one: the same Message-ID
    copies = smtp_server.messages
    assert len(copies) == 2 and copies[0].message["Message-ID"] == copies[1].message["Message-ID"]
    assert {r["state"] for r in recipients(harness).values()} == {"accepted"}


def test_a_server_stalling_past_the_timeout_before_data_defers_and_nothing_is_duplicated(harness, smtp_server):
    smtp_server.stall_stage, smtp_server.stall_s = "rcpt", 2.0
    harness.ingest(contract_example()[:3])
    harness.drain()
    states = recipients(harness)
    assert {r["state"] for r in states.values()} == {"deferred"}
    assert all("Timeout" in r["last_reply"] or "timed out" in r["last_reply"].lower() for r in states.values())
    smtp_server.stall_s = 0.0
    harness.clock.advance(seconds=400)
    harness.drain()
    (msg,) = smtp_server.messages
    assert sorted(msg.rcpt_tos) == sorted([BILLING, DUNNING, RELATIONSHIP])


def test_a_server_down_for_a_while_then_up_delivers_each_recipient_once(harness, smtp_server):
    # Given the relay is down when the invoice is due, and stays down over two retries
    smtp_server.down()
    harness.ingest(contract_example())
    harness.drain()
    for _ in range(2):
        harness.clock.advance(seconds=700)
        harness.drain()
    rows = harness.status()
    assert len(rows) == 2 and all(
        r["state"] == "deferred" and r["attempts"] == 3 for row in rows for r in row["recipients"]
    )
    # When it comes back
    smtp_server.up()
    harness.clock.advance(seconds=1500)  # the third retry: 1200 s +/- 10% jitter
    harness.drain()
    # Then both invoices arrive, each once, to everyone
    assert len(smtp_server.messages) == 2
    assert len({m.message["Message-ID"] for m in smtp_server.messages}) == 2
    assert [r["state"] for row in harness.status() for r in row["recipients"]] == ["accepted"] * 6


def test_a_recipient_still_deferred_at_the_give_up_age_is_failed(harness, smtp_server):
    smtp_server.reply_for_rcpt = {DUNNING: "450 4.2.0 Try later"}
    harness.ingest(contract_example()[:3])
    harness.drain()
    harness.clock.advance(days=5, seconds=1)
    harness.drain()
    states = recipients(harness)
    assert states[DUNNING]["state"] == "failed" and states[BILLING]["state"] == "accepted"
