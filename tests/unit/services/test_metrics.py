"""The metrics' labels: bounded vocabularies, whatever the input (an unknown event type, a reply
without a code), so that a hostile or broken producer cannot grow the series without bound."""

from __future__ import annotations

from prometheus_client import generate_latest

from worker.domain.delivery import Outcome, RecipientState, SmtpReply, SmtpStage
from worker.services.metrics import Metrics, event_type_label, reply_class


def test_replies_are_counted_by_class_and_no_reply_is_none() -> None:
    assert reply_class(SmtpReply(250, "2.0.0 OK", SmtpStage.DATA)) == "2xx"
    assert reply_class(SmtpReply(451, "4.7.1 later", SmtpStage.RCPT)) == "4xx"
    assert reply_class(SmtpReply(554, "5.7.1 no", SmtpStage.MAIL)) == "5xx"
    assert reply_class(SmtpReply(0, "connection refused")) == "none"
    assert reply_class(None) == "none"


def test_an_event_type_outside_the_contract_is_counted_as_other() -> None:
    assert event_type_label("order.booked") == "order.booked"
    assert event_type_label("order.booked\r\nevil") == "other"
    assert event_type_label({"not": "a string"}) == "other"


def test_outcomes_are_labelled_by_kind_and_state_never_by_address() -> None:
    # Given a metrics registry of its own
    metrics = Metrics()
    states = {
        "els@acme.example": RecipientState(address="els@acme.example", role="to", state=Outcome.ACCEPTED),
        "ar@acme.example": RecipientState(address="ar@acme.example", role="cc", state=Outcome.DEFERRED),
    }
    # When two recipients' outcomes are counted
    metrics.count_outcomes("invoice", states)
    text = generate_latest(metrics.registry).decode()
    # Then each state has one, and no address reaches the exposition
    assert 'invoice_worker_recipient_outcomes_total{kind="invoice",state="accepted"} 1.0' in text
    assert 'invoice_worker_recipient_outcomes_total{kind="invoice",state="deferred"} 1.0' in text
    assert "@" not in text
