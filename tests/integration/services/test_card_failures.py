"""End to end: a failed card payment becomes an email To the billing contact, Cc dunning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.contract_events import card_failed, contact, contract_example
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped
from tests.support.redis_dump import everything_in_redis

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CARD = "4111 1111 1111 1111"


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def text_of(message) -> str:
    return unwrapped(message.message.get_body(("plain",)).get_content())


def html_of(message) -> str:
    return message.message.get_body(("html",)).get_content()


def test_a_failed_card_payment_of_an_issued_invoice_goes_to_its_billing_contact_cc_dunning(
    harness, smtp_server, redis_client
):
    # Given invoice INV-0000001 issued by this worker (To Els, Cc dunning and relationship)
    harness.ingest(contract_example()[:3])
    harness.drain()
    smtp_server.clear()
    # When its card payment fails, with a reason quoting the card number
    harness.ingest([card_failed("INV-0000001", reason=f"Declined: card {CARD} has expired", event_id="cf-1")])
    harness.drain()
    # Then one email goes To the invoice's billing contact, Cc only the dunning contact, in Dutch
    (msg,) = smtp_server.messages
    assert sorted(msg.rcpt_tos) == ["ar@acme.example", "els@acme.example"]
    assert "els@acme.example" in msg.message["To"] and "ar@acme.example" in msg.message["Cc"]
    assert msg.message["Subject"] == "Creditcardbetaling voor factuur INV-0000001 mislukt"
    text = text_of(msg)
    assert "29.040,00" in text and "16 februari 2026" in text
    # with exactly the two options of DOMAIN section 4
    assert "1. Vraag Billing Support om de creditcard opnieuw te belasten" in text
    assert "de kaart geldig is" in text and "automatische betalingen" in text and "volledige factuurbedrag" in text
    assert "2. Betaal per bankoverschrijving" in text and "factuurnummer INV-0000001" in text
    assert "3. " not in text and html_of(msg).count("<li") == 2
    # and no card data anywhere: not in the email, not in Redis (queue messages included)
    assert "Door de bank opgegeven reden: ‘Declined: card [kaartnummer verwijderd] has expired’" in text
    for form in (CARD, CARD.replace(" ", "")):
        assert form not in text and form not in html_of(msg)
        assert form.encode() not in everything_in_redis(redis_client)
    (row,) = [r for r in harness.status() if r["kind"] == "card_failed"]
    assert row["delivery"] == "card_failed:cf-1" and row["key"] == "INV-0000001"
    assert {r["address"]: r["state"] for r in row["recipients"]} == {
        "els@acme.example": "accepted",
        "ar@acme.example": "accepted",
    }


def test_an_invoice_not_issued_here_uses_the_billing_contact_of_the_event(harness, smtp_server):
    jane = contact("Jane Smith", "jane@globex.example")
    harness.ingest([card_failed("EXT-77", account_id="A-404", amount="150.00", billing_contact=jane)])
    harness.drain()
    (msg,) = smtp_server.messages
    assert list(msg.rcpt_tos) == ["jane@globex.example"] and msg.message["Cc"] is None
    assert msg.message["Content-Language"] == "en-US"
    assert "$150.00" in text_of(msg) and "EXT-77" in text_of(msg)


def test_without_an_issued_invoice_or_a_billing_contact_the_event_is_dead_lettered(harness, smtp_server):
    harness.ingest([card_failed("EXT-78", reason=f"card {CARD}", event_id="cf-nobody")])
    harness.drain()
    assert smtp_server.messages == []
    (dead,) = harness.dead_letters()
    assert dead["event_id"] == "cf-nobody" and dead["field"] == "data.billing_contact"
    assert "EXT-78" in dead["reason"] and "no billing contact" in dead["reason"]
    assert CARD not in str(dead)


def test_the_same_card_failure_twice_sends_once(harness, smtp_server):
    event = card_failed("EXT-79", billing_contact=contact("Jane", "jane@globex.example"), event_id="cf-twice")
    harness.ingest([event])
    harness.drain()
    harness.ingest([event])
    harness.drain()
    assert len(smtp_server.messages) == 1


def test_a_card_failure_rejected_at_ingest_is_dead_lettered_without_the_card_number(harness, smtp_server, redis_client):
    # Given a card failure that breaks the contract (a bad currency) and quotes a card number
    bad = card_failed("EXT-80", currency="XYZ", reason=f"card {CARD}", event_id="cf-bad")
    report = harness.ingest([bad])
    # Then it is rejected naming the field, and kept without the number
    assert [r.error.field for r in report.rejections] == ["data.currency"]
    (dead,) = harness.dead_letters()
    assert dead["event"]["data"]["reason"] == "card [card number redacted]"
    assert CARD.encode() not in everything_in_redis(redis_client)
