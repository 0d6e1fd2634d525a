"""End to end: billing schedules and payment guidance, read from the emails that arrive over SMTP
(real Redis, real SMTP server, a clock the test moves)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, contact, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped

JAN_2026 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
JANE = contact("Jane Doe", "jane@globex.example")


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    # These tests follow invoices across years: payment reminders (tests/integration/services/
    # test_invoice_life.py) would come between them.
    return Harness.build(make_settings(redis_url, smtp_server.port, reminder_days=""), JAN_2026)


def texts(smtp_server) -> list[str]:
    return [unwrapped(m.message.get_body(("plain",)).get_content()) for m in smtp_server.messages]


def htmls(smtp_server) -> list[str]:
    return [unwrapped(m.message.get_body(("html",)).get_content()) for m in smtp_server.messages]


def us_account(**extra):
    return account_updated(
        "A-2",
        country="US",
        name="Globex",
        dunning=contact("AR", "ar@globex.example"),
        relationship=contact("Rel", "rel@globex.example"),
        **extra,
    )


def us_order(order_id="O-2", *, lines, **extra):
    return order_booked(order_id, account_id="A-2", billing_contact=JANE, subscription_id="S-2", lines=lines, **extra)


def three_year_events(*, po_number="PO-77"):
    return [
        us_account(),
        us_order(
            lines=[line("L1", "Compute", annual_amount="40000.00", tax_rate="0")],
            term=("2026-01-01", "2028-12-31"),
            po_number=po_number,
        ),
        service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
    ]


def test_a_three_year_subscription_is_invoiced_40000_as_each_annual_period_falls_due(harness, smtp_server):
    # Given a USD 120,000 three-year subscription, annual in advance, activated on 1 January 2026
    harness.ingest(three_year_events())
    harness.drain()
    # Then the first year is invoiced at once
    assert len(smtp_server.messages) == 1
    assert "$40,000.00" in texts(smtp_server)[0] and "January 1, 2026 – December 31, 2026" in texts(smtp_server)[0]
    # When the clock reaches the second year's first day, the second year is invoiced, once
    harness.clock.now = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    harness.drain()
    assert len(smtp_server.messages) == 1
    harness.clock.now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    harness.drain()
    assert len(smtp_server.messages) == 2
    second = texts(smtp_server)[1]
    assert "$40,000.00" in second and "January 1, 2027 – December 31, 2027" in second
    assert "Due date: January 31, 2027" in second
    # And the third year on 1 January 2028; nothing after the term
    harness.clock.now = datetime(2028, 1, 1, 0, 0, 1, tzinfo=UTC)
    harness.drain()
    harness.clock.now = datetime(2029, 6, 1, tzinfo=UTC)
    harness.drain()
    assert len(smtp_server.messages) == 3
    assert "January 1, 2028 – December 31, 2028" in texts(smtp_server)[2]
    totals = [row["invoice"]["total"] for row in harness.status()]
    assert totals == ["40000.00", "40000.00", "40000.00"]
    assert [row["invoice"]["number"] for row in harness.status()] == ["INV-0000001", "INV-0000002", "INV-0000003"]


def test_quarterly_in_arrears_for_the_public_sector_is_invoiced_after_each_quarter(harness, smtp_server):
    # Given a public-sector account and a quarterly-in-arrears order activated on 1 February
    harness.ingest(
        [
            us_account(sector="public"),
            us_order(
                lines=[line("L1", "Compute", annual_amount="24000.00", tax_rate="0")],
                billing_frequency="quarterly_in_arrears",
            ),
            service_activated("O-2", "L1", "2026-02-01T09:00:00Z"),
        ]
    )
    harness.clock.now = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)
    harness.drain()
    # Then nothing is invoiced at activation
    assert smtp_server.messages == []
    # When the first quarter has ended, it is invoiced: February and March, 4,000.00
    harness.clock.now = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
    harness.drain()
    (text,) = texts(smtp_server)
    assert "$4,000.00" in text and "February 1, 2026 – March 31, 2026" in text
    # And the second quarter after it ends: 6,000.00
    harness.clock.now = datetime(2026, 7, 1, 0, 0, 1, tzinfo=UTC)
    harness.drain()
    assert len(smtp_server.messages) == 2
    assert "$6,000.00" in texts(smtp_server)[1] and "April 1, 2026 – June 30, 2026" in texts(smtp_server)[1]


def test_quarterly_in_arrears_for_a_commercial_account_is_rejected_naming_event_and_field(harness, smtp_server):
    # Given a commercial account, then its quarterly-in-arrears order
    harness.ingest(
        [
            us_account(),
            us_order(lines=[line("L1", "Compute")], billing_frequency="quarterly_in_arrears", event_id="qa-1"),
            service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.clock.now = datetime(2026, 7, 1, tzinfo=UTC)
    harness.drain()
    # Then the order is dead-lettered with the field and the reason, and nothing is invoiced
    (dead,) = harness.dead_letters()
    assert (dead["event_id"], dead["field"]) == ("qa-1", "data.billing_frequency")
    assert "public sector only" in dead["reason"] and "commercial" in dead["reason"]
    assert smtp_server.messages == []


def test_quarterly_in_arrears_booked_before_its_commercial_account_arrives_is_rejected_then(harness, smtp_server):
    # Given the order and its activation before the account is known
    harness.ingest(
        [
            us_order(lines=[line("L1", "Compute")], billing_frequency="quarterly_in_arrears", event_id="qa-2"),
            service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    assert harness.dead_letters() == []
    # When the account arrives and says commercial, and quarters end
    harness.ingest([us_account()])
    harness.clock.now = datetime(2026, 7, 1, tzinfo=UTC)
    harness.drain()
    # Then the order event is dead-lettered as if rejected on arrival; nothing is invoiced
    (dead,) = harness.dead_letters()
    assert (dead["event_id"], dead["field"]) == ("qa-2", "data.billing_frequency")
    assert smtp_server.messages == []


def test_an_add_on_with_another_po_number_is_invoiced_separately_and_status_says_why(harness, smtp_server):
    # Given the three-year subscription and an add-on order of it with another PO number
    harness.ingest(
        [
            *three_year_events(),
            us_order(
                "O-3",
                lines=[line("A1", "Analytics", annual_amount="12000.00", tax_rate="0")],
                po_number="PO-88",
                term=("2026-01-01", "2028-12-31"),
            ),
            service_activated("O-3", "A1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    assert len(smtp_server.messages) == 2  # one activation invoice per order
    # When the second year falls due
    harness.clock.now = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    harness.drain()
    # Then the add-on's year is on an invoice of its own, quoting its PO number, with the reason
    rows = {row["invoice"]["number"]: row for row in harness.status()}
    later = [rows[n]["invoice"] for n in ("INV-0000003", "INV-0000004")]
    assert [(inv["order_id"], inv["total"]) for inv in later] == [("O-2", "40000.00"), ("O-3", "12000.00")]
    assert later[0]["split_reason"] == ""
    assert later[1]["split_reason"] == "PO number PO-88 differs from PO-77 on order O-2"
    # (sent concurrently: told apart by their numbers, not by which arrived first)
    third, fourth = (
        next(t for t in texts(smtp_server)[2:] if f"invoice {n}" in t) for n in ("INV-0000003", "INV-0000004")
    )
    assert "PO-77" in third and "Analytics" not in third
    assert "PO-88" in fourth and "Analytics" in fourth


def test_a_small_invoice_in_a_card_country_offers_the_card_only(harness, smtp_server):
    # Given a US order whose invoice totals USD 1,200.00 (under USD 2,000.00)
    harness.ingest(
        [
            us_account(),
            us_order(lines=[line("L1", "Compute", annual_amount="1200.00", tax_rate="0")]),
            service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    (text,) = texts(smtp_server)
    (html,) = htmls(smtp_server)
    # Then the card is the only method offered, with the invoice number; no bank details
    for part in (text, re.sub(r"<[^>]+>", "", html)):  # the number is a nowrap span in HTML
        assert "the credit card is the only accepted payment method" in part
        assert "quote the invoice number INV-0000001" in part
        assert "Remittance details" not in part and "routing number" not in part and "PayPal" not in part
        assert "“Open”" in part and "“Overdue”" in part and "“Closed”" in part
        assert "We never ask for card details by email" in part


def test_an_invoice_above_the_card_limit_offers_bank_transfer_and_no_card(harness, smtp_server):
    # Given a US order whose invoice totals USD 120,000.00 (above USD 99,999.99)
    harness.ingest(
        [
            us_account(),
            us_order(lines=[line("L1", "Compute", annual_amount="120000.00", tax_rate="0")]),
            service_activated("O-2", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    (text,) = texts(smtp_server)
    # Then bank transfer to the US remittance details, and the portal without the card
    # (ACH and a check only because the US remittance details have a routing number and an address)
    assert "Pay by bank transfer or ACH to the remittance details on the invoice, or send a check" in text
    assert "Always quote the invoice number INV-0000001" in text
    assert "ACH routing number: 026009593" in text and "Checks to: Invoice Worker Cloud Inc." in text
    assert "- PayPal" in text and "Credit card" not in text
    assert "Payment terms: net 30 days from the invoice date. Please pay by January 31, 2026." in text


def test_a_jpy_invoice_has_no_minor_unit_and_jpy_remittance_without_online_payment(harness, smtp_server):
    # Given a Japanese account and a JPY order (JP offers no online payment in the portal)
    harness.ingest(
        [
            account_updated(
                "A-3",
                country="JP",
                name="Nippon KK",
                dunning=contact("AR", "ar@nippon.example"),
                relationship=contact("Rel", "rel@nippon.example"),
            ),
            order_booked(
                "O-4",
                account_id="A-3",
                subscription_id="S-4",
                currency="JPY",
                po_number=None,
                billing_contact=contact("Taro Yamada", "taro@nippon.example", "en-US"),
                billing_frequency="quarterly_in_advance",
                lines=[line("L1", "Compute", annual_amount="1000005", tax_rate="0.1")],
            ),
            service_activated("O-4", "L1", "2026-01-01T09:00:00Z"),
        ]
    )
    harness.drain()
    (text,) = texts(smtp_server)
    # Then a quarter of JPY 1,000,005 is ¥250,001 and the tax ¥25,000, whole yen, rounded half-up
    assert "¥250,001" in text and "¥25,000" in text and "¥275,001" in text
    assert "¥250,001.25" not in text and ".00" not in text
    assert "Account type: Ordinary deposit" in text and "Account number: 1234567" in text and "MUFG Bank" in text
    assert "cheque" not in text and "check to" not in text and "ACH" not in text
    assert "pay online" not in text and "only accepted payment method" not in text
    assert "POEF-1" in text
