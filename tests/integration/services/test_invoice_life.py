"""End to end, the clock moved: an invoice paid in parts, left unpaid (reminders on business days,
Cc dunning once overdue), paid before it was issued, and disputed (reminders paused, then
resumed); real Redis, real SMTP server.

Invoice INV-0000001 of the contract example: issued 16 January 2026, USD 29,040.00, due Sunday
15 February 2026, to Els (Dutch), account A-100 in the Netherlands (dunning: ar@acme.example).
The default cadence (-7, 1, 7, 21 days) falls on Sunday 8 February, Monday 16 February, Sunday
22 February and Sunday 8 March: the Sundays move to the Mondays after them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.contract_events import contract_example, invoice_disputed, payment_received
from tests.support.harness import Harness, make_settings
from tests.support.plain_text import unwrapped
from worker.store.due_members import remind_member
from worker.store.keys import Keys

ISSUED = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)
BEFORE_DUE = datetime(2026, 2, 9, 8, 0, 1, tzinfo=UTC)  # Monday after Sunday 8 February
OVERDUE = datetime(2026, 2, 16, 8, 0, 1, tzinfo=UTC)  # the day after the due date, a Monday
MUCH_LATER = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # past the +7 (23 Feb) and +21 (9 Mar) steps


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), ISSUED)


def issue_invoice(harness: Harness, smtp_server) -> None:
    harness.ingest(contract_example()[:3])
    harness.drain()
    assert [m.message["Subject"] for m in smtp_server.messages] == ["Factuur INV-0000001 voor Acme B.V."]
    smtp_server.clear()


def at(harness: Harness, moment: datetime) -> None:
    harness.clock.now = moment
    harness.drain()


def text_of(message) -> str:
    return unwrapped(message.message.get_body(("plain",)).get_content()).replace("\xa0", " ")


def attachments_of(message) -> list[str]:
    return [part.get_filename() for part in message.message.iter_attachments()]


def ledger_of(harness: Harness) -> dict:
    (row,) = [r for r in harness.status("INV-0000001") if r["kind"] == "invoice"]
    return row["ledger"]


def test_an_invoice_paid_in_two_parts_is_confirmed_twice_then_closed_and_never_reminded(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    # When 10,000.00 is paid, then the rest
    harness.ingest([payment_received("10000.00", at="2026-01-20T10:00:00Z", event_id="pay-1")])
    harness.drain()
    (first,) = smtp_server.messages
    # Then the billing contact alone is told what was received and what is left
    assert list(first.rcpt_tos) == ["els@acme.example"] and first.message["Cc"] is None
    assert "INV-0000001" in first.message["Subject"]
    assert "US$ 10.000,00" in text_of(first) and "US$ 19.040,00" in text_of(first)
    assert ledger_of(harness)["state"] == "open" and ledger_of(harness)["balance"] == "19040.00"
    smtp_server.clear()
    harness.ingest([payment_received("19040.00", at="2026-02-02T10:00:00Z", event_id="pay-2")])
    harness.drain()
    (second,) = smtp_server.messages
    assert "US$ 19.040,00" in text_of(second) and "US$ 0,00" in text_of(second)
    assert ledger_of(harness)["state"] == "closed"
    smtp_server.clear()
    # And when every reminder step has passed, none is sent
    at(harness, BEFORE_DUE)
    at(harness, OVERDUE)
    at(harness, MUCH_LATER)
    assert smtp_server.messages == []
    assert [entry["what"] for entry in ledger_of(harness)["history"]] == ["payment", "payment"]


def test_an_unpaid_invoice_is_reminded_on_business_days_and_cc_dunning_once_overdue(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    # Nothing before the first step (moved from Sunday to Monday 9 February, 08:00 UTC)
    at(harness, datetime(2026, 2, 9, 7, 59, tzinfo=UTC))
    assert smtp_server.messages == []
    # When the step is due: a reminder To the billing contact alone, the invoice attached again
    at(harness, BEFORE_DUE)
    (before,) = smtp_server.messages
    assert list(before.rcpt_tos) == ["els@acme.example"] and before.message["Cc"] is None
    assert "INV-0000001" in before.message["Subject"] and "US$ 29.040,00" in text_of(before)
    assert "INV-0000001.pdf" in attachments_of(before)
    smtp_server.clear()
    # Run again at the same moment (a redelivered member): nothing twice
    at(harness, BEFORE_DUE)
    assert smtp_server.messages == []
    # The day after the due date: overdue, Cc the dunning contact
    at(harness, OVERDUE)
    (overdue,) = smtp_server.messages
    assert sorted(overdue.rcpt_tos) == ["ar@acme.example", "els@acme.example"]
    assert "ar@acme.example" in overdue.message["Cc"]
    assert ledger_of(harness)["state"] == "overdue"
    smtp_server.clear()
    # A worker away past two steps sends the latest one only
    at(harness, MUCH_LATER)
    (latest,) = smtp_server.messages
    assert "ar@acme.example" in latest.message["Cc"]
    history = [(entry["what"], entry.get("step")) for entry in ledger_of(harness)["history"]]
    assert history == [("reminder", -7), ("reminder", 1), ("reminder skipped", 7), ("reminder", 21)]


def test_a_reminder_reads_the_ledger_again_and_a_payment_meanwhile_stops_it(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    at(harness, BEFORE_DUE)
    smtp_server.clear()
    # When the invoice is paid in full before the overdue step
    harness.ingest([payment_received("29040.00", at="2026-02-12T10:00:00Z", event_id="pay-full")])
    harness.drain()
    smtp_server.clear()
    # Then no overdue reminder goes, then or later
    at(harness, OVERDUE)
    at(harness, MUCH_LATER)
    assert smtp_server.messages == []


def test_a_payment_that_arrives_before_its_invoice_waits_for_it(harness, smtp_server):
    # Given a payment for INV-0000001 before the invoice exists
    harness.ingest([payment_received("29040.00", at="2026-01-16T11:00:00Z", event_id="early-pay")])
    harness.drain()
    assert smtp_server.messages == [] and harness.dead_letters() == []
    # When the invoice is issued, and the parked payment is tried again
    harness.ingest(contract_example()[:3])
    harness.drain()
    harness.clock.advance(seconds=harness.settings.parked_retry_s + 1)
    harness.drain()
    # Then it is applied after the invoice: confirmed, and the invoice closed
    # (the two emails are sent concurrently: their order of arrival is not the test's business)
    by_subject = {m.message["Subject"]: m for m in smtp_server.messages}
    assert len(by_subject) == 2 and "Factuur INV-0000001 voor Acme B.V." in by_subject
    (confirmation,) = [m for s, m in by_subject.items() if s != "Factuur INV-0000001 voor Acme B.V."]
    assert "US$ 29.040,00" in text_of(confirmation) and "INV-0000001" in confirmation.message["Subject"]
    assert ledger_of(harness)["state"] == "closed"


def test_a_payment_delivered_twice_is_recorded_and_confirmed_once(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    event = payment_received("5000.00", event_id="pay-twice")
    harness.ingest([event])
    harness.drain()
    harness.ingest([event])
    harness.drain()
    assert len(smtp_server.messages) == 1
    assert ledger_of(harness)["covered"] == "5000.00"


def test_an_overpayment_is_recorded_and_the_email_says_billing_support_applies_or_refunds_it(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    harness.ingest([payment_received("30000.00", event_id="pay-over")])
    harness.drain()
    (confirmation,) = smtp_server.messages
    assert "US$ 960,00" in text_of(confirmation) and "Billing Support" in text_of(confirmation)
    ledger = ledger_of(harness)
    assert (ledger["state"], ledger["overpaid"]) == ("closed", "960.00")


def test_a_payment_for_another_account_or_currency_is_refused_on_its_field(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    harness.ingest(
        [
            payment_received("100.00", account_id="A-999", event_id="wrong-account"),
            payment_received("100.00", currency="EUR", event_id="wrong-currency"),
        ]
    )
    harness.drain()
    fields = {dead["event_id"]: dead["field"] for dead in harness.dead_letters()}
    assert fields == {"wrong-account": "data.account_id", "wrong-currency": "data.currency"}
    assert smtp_server.messages == []


def test_an_open_dispute_pauses_the_reminders_and_a_rejected_one_resumes_them(harness, smtp_server):
    issue_invoice(harness, smtp_server)
    # Given a dispute opened before the first reminder
    harness.ingest([invoice_disputed("open", at="2026-02-01T10:00:00Z", event_id="dispute-1")])
    harness.drain()
    # Then no reminder goes while it is open, and status says so
    at(harness, BEFORE_DUE)
    at(harness, datetime(2026, 2, 17, 9, 0, tzinfo=UTC))
    assert smtp_server.messages == []
    assert ledger_of(harness)["state"] == "disputed"
    # When Billing Support rejects it, the reminders resume with the step now due (overdue)
    harness.ingest([invoice_disputed("rejected", at="2026-02-17T10:00:00Z", event_id="dispute-1-end")])
    harness.drain()
    (resumed,) = smtp_server.messages
    assert "ar@acme.example" in resumed.message["Cc"]
    assert ledger_of(harness)["state"] == "overdue"


def test_a_reminder_step_is_sent_once_even_when_the_worker_died_before_marking_it_done(
    harness, smtp_server, redis_client
):
    issue_invoice(harness, smtp_server)
    at(harness, BEFORE_DUE)
    assert len(smtp_server.messages) == 1
    smtp_server.clear()
    # Given a worker that sent the step but died before recording it (its record taken away),
    # and the invoice's reminder member due again (its lease ran out)
    keys = Keys(harness.settings.redis_prefix)
    redis_client.delete(keys.reminders_done("INV-0000001"))
    redis_client.zadd(keys.due, {remind_member("INV-0000001"): BEFORE_DUE.timestamp()})
    # When another worker runs it, then the step's delivery exists: nothing goes twice
    at(harness, BEFORE_DUE)
    assert smtp_server.messages == []
