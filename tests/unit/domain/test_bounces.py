"""Reading real bounce messages (fixtures/bounces/) and what they do to a recipient. Pure."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.support.paths import FIXTURES
from worker.domain.bounces import Action, ReportKind, classify_bounce, decide_bounce
from worker.domain.delivery import Outcome, RecipientState, SmtpReply, classify_reply

BOUNCES = FIXTURES / "bounces"
ACCEPTED = RecipientState(address="els@acme.example", role="to", state=Outcome.ACCEPTED, reply="250 OK", attempts=1)


def load(name: str):
    return email.message_from_bytes((BOUNCES / name).read_bytes(), policy=email.policy.compat32)


@pytest.mark.parametrize(
    ("name", "kind", "action", "status"),
    [
        ("postfix_user_unknown.eml", ReportKind.DSN, Action.FAILED, "5.1.1"),
        ("postfix_delayed.eml", ReportKind.DSN, Action.DELAYED, "4.4.1"),
        ("exchange_expired.eml", ReportKind.DSN, Action.FAILED, "4.4.7"),
        ("qmail_failure.eml", ReportKind.NON_STANDARD, Action.FAILED, "5.1.1"),
        ("postfix_mailbox_full.eml", ReportKind.DSN, Action.FAILED, "5.2.2"),
    ],
)
def test_each_bounce_format_yields_recipient_action_and_status(name, kind, action, status):
    report = classify_bounce(load(name))
    assert report.kind is kind
    (entry,) = report.recipients
    assert (entry.recipient, entry.action, entry.status) == ("els@acme.example", action, status)


def test_a_dsn_names_the_message_that_bounced():
    report = classify_bounce(load("postfix_user_unknown.eml"))
    assert report.original_message_id == "<invoice.INV-0000001.5b1f0e2a9c3d4e7f@invoice-worker.example>"
    assert "User unknown" in report.recipients[0].diagnostic


def test_an_out_of_office_reply_is_not_a_bounce():
    report = classify_bounce(load("out_of_office.eml"))
    assert report.kind is ReportKind.AUTO_REPLY and report.recipients == ()
    decision = decide_bounce(report, "els@acme.example", ACCEPTED, now=0, resend_delay_s=60, resend_max=3)
    assert decision.new_state is None and not decision.suppress and decision.resend_at is None


def test_a_plain_message_is_unrecognised_and_changes_nothing():
    msg = email.message_from_string(
        "From: a@b.example\nSubject: hello\n\nJust saying hi.\n", policy=email.policy.compat32
    )
    report = classify_bounce(msg)
    assert report.kind is ReportKind.UNRECOGNISED
    assert decide_bounce(report, "els@acme.example", ACCEPTED, now=0, resend_delay_s=60, resend_max=3).new_state is None


def test_a_permanent_failure_bounces_the_recipient_and_suppresses_the_address():
    decision = decide_bounce(
        classify_bounce(load("postfix_user_unknown.eml")),
        "els@acme.example",
        ACCEPTED,
        now=100.0,
        resend_delay_s=60,
        resend_max=3,
    )
    assert decision.suppress and decision.new_state.state is Outcome.BOUNCED
    assert "5.1.1" in decision.new_state.reply and decision.record["status"] == "5.1.1"


def test_a_temporary_failure_resends_later_up_to_the_limit_then_fails():
    report = classify_bounce(load("exchange_expired.eml"))
    state = ACCEPTED
    for resend in range(1, 3):
        decision = decide_bounce(report, "els@acme.example", state, now=100.0, resend_delay_s=60, resend_max=2)
        assert decision.resend_at == 160.0 and not decision.suppress
        assert decision.new_state.state is Outcome.DEFERRED and decision.new_state.bounce_resends == resend
        state = RecipientState(**{**decision.new_state.__dict__, "state": Outcome.ACCEPTED})
    final = decide_bounce(report, "els@acme.example", state, now=200.0, resend_delay_s=60, resend_max=2)
    assert final.resend_at is None and final.new_state.state is Outcome.FAILED


def test_a_delayed_report_is_only_recorded():
    decision = decide_bounce(
        classify_bounce(load("postfix_delayed.eml")),
        "els@acme.example",
        ACCEPTED,
        now=0,
        resend_delay_s=60,
        resend_max=3,
    )
    assert decision.new_state is None and decision.resend_at is None and not decision.suppress
    assert decision.record["action"] == "delayed" and decision.record["effect"] == "recorded"


def test_a_mailbox_full_report_is_temporary_like_the_same_reply_in_the_session():
    # Given a DSN "failed 5.2.2 mailbox full" for a recipient the relay had accepted
    report = classify_bounce(load("postfix_mailbox_full.eml"))
    # When it is decided
    decision = decide_bounce(report, "els@acme.example", ACCEPTED, now=100.0, resend_delay_s=60, resend_max=3)
    # Then the address is not suppressed and the recipient is deferred, resent after the delay:
    # the same policy as a 552 5.2.2 reply in the SMTP session (deferred, not rejected)
    assert not decision.suppress and not report.recipients[0].permanent
    assert decision.new_state.state is Outcome.DEFERRED and decision.resend_at == 160.0
    assert classify_reply(SmtpReply(552, "5.2.2 Mailbox full")).outcome is Outcome.DEFERRED
    assert "5.2.2" in decision.new_state.reply and decision.record["effect"].startswith("resend 1")
