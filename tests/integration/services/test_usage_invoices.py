"""End to end: metered usage becomes one monthly-in-arrears invoice per (subscription, month),
issued once the month has ended, with the invoice email's recipients, documents and ledger."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, usage_line, usage_rated
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped

APRIL = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
LINES = [
    usage_line("U1", "payg", "744", "0.0255", "18.97"),  # 744 x 0.0255 = 18.972
    usage_line("U2", "overage", "100", "1.50", "150.00"),
    usage_line("U3", "bursting", "1000", "0.05", "50.00", subscribed="1"),  # at most 2 x 1 x 744 h
]


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    harness = Harness.build(make_settings(redis_url, smtp_server.port), APRIL)
    harness.ingest([account_updated(event_id="acct")])
    harness.drain()
    return harness


def text_of(message) -> str:
    return unwrapped(message.message.get_body(("plain",)).get_content()).replace("\xa0", " ")


def test_a_month_of_usage_is_one_invoice_with_its_amounts_tax_and_the_invoice_recipients(harness, smtp_server):
    # When March's usage is rated, on 1 April
    harness.ingest([usage_rated(LINES, event_id="use-mar")])
    harness.drain()
    # Then one invoice, To the billing contact, Cc dunning and account relationship, with its PDF
    (msg,) = smtp_server.messages
    assert msg.message["To"] and "els@acme.example" in msg.message["To"]
    assert len(list(msg.rcpt_tos)) == 3
    assert any(part.get_filename() == "INV-0000001.pdf" for part in msg.message.iter_attachments())
    text = text_of(msg)
    # 218.97 net, 21% tax 45.98 (3.98 + 31.50 + 10.50), net 30 from 1 April
    assert "US$ 218,97" in text and "US$ 45,98" in text and "US$ 264,95" in text
    assert "744 OCPU-hour" in text and "1 maart 2026 – 31 maart 2026" in text
    assert "1 mei 2026" in text
    (row,) = [r for r in harness.status("INV-0000001") if r["kind"] == "invoice"]
    assert row["ledger"]["state"] == "open" and row["ledger"]["total"] == "264.95"


def test_usage_rated_before_the_month_ends_waits_until_it_has(harness, smtp_server):
    harness.clock.now = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)
    harness.ingest([usage_rated(LINES, at="2026-03-31T20:00:00Z", event_id="use-early")])
    harness.drain()
    assert smtp_server.messages == [] and harness.dead_letters() == []
    harness.clock.now = APRIL
    harness.drain()
    assert len(smtp_server.messages) == 1


def test_bursting_above_twice_the_subscribed_capacity_is_refused_on_its_quantity(harness, smtp_server):
    too_much = usage_line("U3", "bursting", "1489", "0.05", "74.45", subscribed="1")  # 2 x 744 = 1488
    harness.ingest([usage_rated([too_much], event_id="use-burst")])
    harness.drain()
    (dead,) = harness.dead_letters()
    assert dead["field"] == "data.lines.0.quantity" and "1488" in dead["reason"]
    assert smtp_server.messages == []


def test_an_amount_that_is_not_quantity_times_price_is_refused_on_its_field(harness, smtp_server):
    harness.ingest([usage_rated([usage_line("U1", "payg", "744", "0.0255", "19.00")], event_id="use-bad")])
    harness.drain()
    (dead,) = harness.dead_letters()
    assert dead["field"] == "data.lines.0.amount"


def test_a_second_event_for_the_same_subscription_and_month_is_refused_unless_it_is_the_same(harness, smtp_server):
    event = usage_rated(LINES, event_id="use-once")
    harness.ingest([event])
    harness.drain()
    harness.ingest([event, usage_rated(LINES[:1], event_id="use-again")])
    harness.drain()
    assert len(smtp_server.messages) == 1
    (dead,) = harness.dead_letters()
    assert (dead["event_id"], dead["field"]) == ("use-again", "data.month") and "use-once" in dead["reason"]
