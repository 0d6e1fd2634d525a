"""End to end: events in, invoice emails out, through a real Redis and a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, contract_example, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def bodies(message) -> tuple[str, str]:
    return (message.message.get_body(("plain",)).get_content(), message.message.get_body(("html",)).get_content())


def test_contract_example_yields_two_dutch_invoices_to_the_billing_contact_cc_account_contacts(harness, smtp_server):
    # Given the four events of the contract example
    report = harness.ingest(contract_example())
    # When the worker drains the queues
    harness.drain()
    # Then two invoices arrive, each once, each To the billing contact, Cc dunning and relationship
    messages = smtp_server.messages
    assert report.accepted == 4 and len(messages) == 2
    first, second = sorted(messages, key=lambda m: m.message["Subject"])
    for msg in (first, second):
        assert sorted(msg.rcpt_tos) == ["ar@acme.example", "els@acme.example", "jan@acme.example"]
        assert "els@acme.example" in msg.message["To"]
        assert "ar@acme.example" in msg.message["Cc"] and "jan@acme.example" in msg.message["Cc"]
        assert msg.message["Content-Language"] == "nl-NL"
        # the text and HTML, then the invoice itself (the account gave no Peppol id: the PDF alone)
        assert msg.message.get_content_type() == "multipart/mixed"
        assert [a.get_filename() for a in msg.message.iter_attachments()] == [
            f"{msg.message['Subject'].split()[1]}.pdf"
        ]
    text1, html1 = bodies(first)
    text2, _ = bodies(second)
    # invoice 1: Compute, 1 Jan - 31 Dec, 24,000.00 + 21% tax, in Dutch formats
    assert "Compute" in text1 and "Fusion ERP" not in text1
    assert "1 januari 2026" in text1 and "31 december 2026" in text1
    assert "24.000,00" in text1 and "5.040,00" in text1 and "29.040,00" in text1
    assert "24.000,00" in html1
    # invoice 2: Fusion ERP, co-termed 1 Feb - 31 Dec (11 months), 22,000.00 + tax
    assert "Fusion ERP" in text2 and "1 februari 2026" in text2
    assert "22.000,00" in text2 and "4.620,00" in text2 and "26.620,00" in text2
    assert "PO-77" in text1 and "O-1" in text1


def test_invoice_date_is_the_sending_date_and_due_date_is_net_30(harness, smtp_server):
    harness.ingest(contract_example()[:3])
    harness.drain()
    (row,) = harness.status()
    assert row["invoice"]["issued_on"] == "2026-11-21"
    assert row["invoice"]["due_on"] == "2026-12-21"
    assert "21 december 2026" in bodies(smtp_server.messages[0])[0]


def test_all_lines_active_sends_one_invoice_at_once(harness, smtp_server):
    # Given an order whose two lines were both activated an hour ago
    harness.clock.now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    harness.ingest(
        [
            account_updated(),
            order_booked(term=("2026-03-01", "2027-02-28")),
            service_activated("O-1", "L1", "2026-03-02T10:00:00Z"),
            service_activated("O-1", "L2", "2026-03-02T11:00:00Z"),
        ]
    )
    harness.drain()
    # Then one invoice with both lines was sent at once
    (msg,) = smtp_server.messages
    text, _ = bodies(msg)
    assert "Compute" in text and "Fusion ERP" in text


def test_open_window_sends_nothing_until_fifteen_days_pass_then_a_partial_invoice_then_a_second(harness, smtp_server):
    # Given one of two lines activated today
    harness.clock.now = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    harness.ingest([account_updated(), order_booked(), service_activated("O-1", "L1", "2026-01-01T09:00:00Z")])
    harness.drain()
    # Then nothing is sent while the window is open
    assert smtp_server.messages == []
    # When 15 days have passed (the window's deadline is data in Redis, picked up by the scheduler)
    harness.clock.now = datetime(2026, 1, 16, 9, 0, 1, tzinfo=UTC)
    harness.drain()
    # Then a partial invoice for the active line goes out
    (first,) = smtp_server.messages
    assert "Compute" in bodies(first)[0] and "Fusion ERP" not in bodies(first)[0]
    # When the last line is activated later
    harness.clock.now = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    harness.ingest([service_activated("O-1", "L2", "2026-02-01T09:00:00Z")])
    harness.drain()
    # Then a second invoice bills it
    assert len(smtp_server.messages) == 2
    assert "Fusion ERP" in bodies(smtp_server.messages[1])[0]


def test_activation_before_its_order_is_kept_and_invoiced_when_the_order_arrives(harness, smtp_server):
    harness.ingest(
        [service_activated("O-1", "L1", "2026-01-01T09:00:00Z"), service_activated("O-1", "L2", "2026-01-02T09:00:00Z")]
    )
    harness.drain()
    assert smtp_server.messages == []
    harness.ingest([order_booked(), account_updated()])
    harness.drain()
    (msg,) = smtp_server.messages
    assert "Compute" in bodies(msg)[0] and "Fusion ERP" in bodies(msg)[0]


def test_the_same_events_twice_send_each_invoice_once(harness, smtp_server):
    events = contract_example()
    harness.ingest(events)
    harness.drain()
    harness.ingest(events)
    harness.ingest(events)
    harness.drain()
    assert len(smtp_server.messages) == 2
    assert len({m.message["Message-ID"] for m in smtp_server.messages}) == 2


def test_a_bad_event_is_dead_lettered_with_its_reason_and_blocks_nothing(harness, smtp_server):
    bad_currency = order_booked("O-9", currency="XYZ", event_id="bad-1")
    bad_email = account_updated("A-9", dunning={"name": "X", "email": "not-an-address"}, event_id="bad-2")
    report = harness.ingest([contract_example()[0], bad_currency, *contract_example()[1:], bad_email, "{nope"])
    harness.drain()
    assert report.accepted == 4
    assert [(r.line_no, r.error.event_id, r.error.field) for r in report.rejections] == [
        (2, "bad-1", "data.currency"),
        (6, "bad-2", "data.contacts.dunning.email"),
        (7, "?", "(json)"),
    ]
    assert len(smtp_server.messages) == 2
    dead = {d["event_id"]: d for d in harness.dead_letters()}
    assert dead["bad-1"]["field"] == "data.currency" and "XYZ" in dead["bad-1"]["reason"]
    assert dead["bad-2"]["field"] == "data.contacts.dunning.email"


def test_an_activation_of_a_line_not_on_the_order_is_dead_lettered(harness, smtp_server):
    harness.ingest(
        [account_updated(), order_booked(), service_activated("O-1", "L9", "2026-01-01T09:00:00Z", event_id="x9")]
    )
    harness.drain()
    (dead,) = harness.dead_letters()
    assert dead["event_id"] == "x9" and dead["field"] == "data.line_id"


def test_a_run_of_activations_applies_the_good_ones_once_and_dead_letters_each_bad_one(harness, smtp_server):
    # Given a booked order with two lines
    harness.ingest(
        [account_updated(), order_booked(lines=[line("L1", "Compute"), line("L2", "Fusion ERP", kind="saas")])]
    )
    # When one batch of activations holds a good one, its replay, a line not on the order,
    # a malformed one and the second line's activation
    good = service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="a1")
    malformed = service_activated("O-1", "L2", "2026-01-01T09:00:00Z", event_id="a-bad")
    malformed["data"]["activated_at"] = "yesterday"
    report = harness.ingest(
        [
            good,
            good,
            service_activated("O-1", "L7", "2026-01-01T09:00:00Z", event_id="a-wrong"),
            malformed,
            service_activated("O-1", "L2", "2026-01-02T09:00:00Z", event_id="a2"),
        ]
    )
    harness.drain()
    # Then one invoice bills both lines, and each bad event is dead-lettered with its field
    (msg,) = smtp_server.messages
    assert "Compute" in bodies(msg)[0] and "Fusion ERP" in bodies(msg)[0]
    assert [(r.error.event_id, r.error.field) for r in report.rejections] == [("a-bad", "data.activated_at")]
    dead = {d["event_id"]: d["field"] for d in harness.dead_letters()}
    assert dead == {"a-bad": "data.activated_at", "a-wrong": "data.line_id"}


def test_one_address_is_sent_once_even_when_it_is_both_billing_and_account_contact(harness, smtp_server):
    harness.ingest(
        [
            account_updated(relationship={"name": "Els", "email": "ELS@acme.example"}),
            order_booked(lines=[line("L1", "Compute")]),
            service_activated("O-1", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    (msg,) = smtp_server.messages
    assert sorted(msg.rcpt_tos) == ["ar@acme.example", "els@acme.example"]


def test_english_contact_gets_english_formats_and_poef_reference_without_po(harness, smtp_server):
    harness.ingest(
        [
            account_updated("A-2", country="US", name="Globex"),
            order_booked(
                "O-2",
                account_id="A-2",
                po_number=None,
                lines=[line("L1", "Compute")],
                billing_contact={"name": "Jane", "email": "jane@globex.example"},
            ),
            service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    (msg,) = smtp_server.messages
    text, _ = bodies(msg)
    assert msg.message["Content-Language"] == "en-US"
    assert "$24,000.00" in text and "January 1, 2026" in text
    assert "POEF-1" in text


def test_smtp_4xx_is_retried_later_and_then_delivered_once(harness, smtp_server):
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    harness.ingest(contract_example()[:3])
    harness.drain()
    assert smtp_server.messages == []
    states = harness.recipient_states()["INV-0000001"]
    assert set(states.values()) == {"deferred"}
    # When the retry falls due
    harness.clock.advance(seconds=400)
    harness.drain()
    (msg,) = smtp_server.messages
    assert set(harness.recipient_states()["INV-0000001"].values()) == {"accepted"}


def test_smtp_5xx_for_one_recipient_is_not_retried_and_the_others_get_it_once(harness, smtp_server):
    smtp_server.reply_for_rcpt = {"jan@acme.example": "550 5.1.1 No such user"}
    harness.ingest(contract_example()[:3])
    harness.drain()
    harness.clock.advance(days=1)
    harness.drain()
    (msg,) = smtp_server.messages
    assert sorted(msg.rcpt_tos) == ["ar@acme.example", "els@acme.example"]
    states = harness.recipient_states()["INV-0000001"]
    assert states == {"els@acme.example": "accepted", "ar@acme.example": "accepted", "jan@acme.example": "rejected"}
    (row,) = harness.status("INV-0000001")
    assert any("550 5.1.1" in r["last_reply"] for r in row["recipients"])


@pytest.mark.parametrize("kind", ["order.booked", "account.updated"])
def test_a_booking_or_account_update_keeps_no_processed_marker_and_its_replay_sends_nothing_twice(
    harness, smtp_server, redis_client, kind
):
    # Given an order booked and invoiced
    events = contract_example()
    replayed = next(e for e in events if e["type"] == kind)
    harness.ingest(events)
    harness.drain()
    sent, stored = (
        len(smtp_server.messages),
        (redis_client.get("iw:order:O-1"), redis_client.hgetall("iw:account:A-100")),
    )
    # Then the event left no processed marker of its own
    assert not redis_client.exists(f"iw:event:{replayed['id']}")
    # When it comes again, alone and with the rest
    harness.ingest([replayed])
    harness.drain()
    harness.ingest(events)
    harness.drain()
    # Then nothing more is sent, nothing is dead-lettered, and the order and account are as they were
    assert len(smtp_server.messages) == sent
    assert harness.dead_letters() == []
    assert (redis_client.get("iw:order:O-1"), redis_client.hgetall("iw:account:A-100")) == stored


def test_an_open_window_stays_one_due_member_through_an_account_update(harness, smtp_server, redis_client):
    # Given an order with one of its two lines activated: its window open, waiting for the other
    harness.ingest(
        [
            account_updated("A-1", event_id="acc-1"),
            order_booked(
                "O-1",
                account_id="A-1",
                lines=[line("L1", "Compute"), line("L2", "Storage")],
                term=("2026-01-01", "2028-12-31"),  # later periods to come: 2027, 2028
            ),
            service_activated("O-1", "L1", "2026-11-21T09:00:00Z"),
        ]
    )
    harness.drain()
    assert redis_client.zrange("iw:due", 0, -1) == [b"window:O-1"]
    # When the account is updated
    harness.ingest(
        [account_updated("A-1", name="Acme Holding B.V.", event_id="acc-2", occurred_at="2026-11-21T10:00:00Z")]
    )
    harness.drain()
    # Then the window is still the order's only due member, and nothing was sent
    assert redis_client.zrange("iw:due", 0, -1) == [b"window:O-1"]
    assert smtp_server.messages == []
