"""Replies about the worker's own setup (credentials, HELO name, TLS) are not the recipient's
fault: the reply table defers the recipient and names an alert. Pure."""

from __future__ import annotations

import random

import pytest

from worker.domain.delivery import (
    ALERT_AUTH_FAILED,
    ALERT_AUTH_REQUIRED,
    ALERT_CONNECTION_REFUSED,
    ALERT_HELO_REFUSED,
    ALERT_SENDER_REFUSED,
    ALERT_TLS_FAILED,
    NO_REPLY,
    Outcome,
    RecipientState,
    RetryPolicy,
    SmtpReply,
    SmtpStage,
    classify_reply,
    classify_status,
    finish_attempt,
    start_attempt,
)


@pytest.mark.parametrize(
    ("reply", "alert"),
    [
        (SmtpReply(535, "5.7.8 Error: authentication failed: bad credentials", SmtpStage.AUTH), ALERT_AUTH_FAILED),
        (SmtpReply(534, "5.7.9 Authentication mechanism is too weak", SmtpStage.AUTH), ALERT_AUTH_FAILED),
        (SmtpReply(NO_REPLY, "SMTP AUTH extension not supported by server.", SmtpStage.AUTH), ALERT_AUTH_FAILED),
        (SmtpReply(530, "5.7.0 Authentication required", SmtpStage.MAIL), ALERT_AUTH_REQUIRED),
        (SmtpReply(530, "5.7.0 Must issue a STARTTLS command first", SmtpStage.RCPT), ALERT_AUTH_REQUIRED),
        (
            SmtpReply(504, "5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname", SmtpStage.HELO),
            ALERT_HELO_REFUSED,
        ),
        (SmtpReply(501, "5.5.4 Syntax: EHLO hostname", SmtpStage.HELO), ALERT_HELO_REFUSED),
        (SmtpReply(NO_REPLY, "TLS handshake failed: certificate verify failed", SmtpStage.TLS), ALERT_TLS_FAILED),
        (SmtpReply(454, "4.7.0 TLS not available due to local problem", SmtpStage.TLS), ALERT_TLS_FAILED),
        (SmtpReply(554, "5.7.1 Access denied: this host may not relay", SmtpStage.CONNECT), ALERT_CONNECTION_REFUSED),
        (
            SmtpReply(553, "5.7.1 <bounces+x@b.example>: Sender address rejected: not owned by user", SmtpStage.MAIL),
            ALERT_SENDER_REFUSED,
        ),
    ],
)
def test_a_refusal_of_our_own_setup_defers_the_recipient_and_names_an_alert(reply, alert):
    # Given a reply that refuses the worker's credentials, HELO name or TLS
    # When it is classified
    verdict = classify_reply(reply)
    # Then the recipient is deferred (the email waits for the fix), never rejected, with an alert
    assert verdict.outcome is Outcome.DEFERRED
    assert verdict.alert == alert


@pytest.mark.parametrize(
    "reply",
    [
        SmtpReply(550, "5.7.1 Relaying denied", SmtpStage.RCPT),
        SmtpReply(550, "5.1.1 User unknown", SmtpStage.RCPT),
        SmtpReply(421, "4.3.2 Service shutting down", SmtpStage.HELO),
        SmtpReply(454, "4.7.0 Temporary authentication failure", SmtpStage.AUTH),
        SmtpReply(250, "2.0.0 Ok: queued", SmtpStage.DATA),
        SmtpReply(553, "5.6.7 the server does not support SMTPUTF8 for this address", SmtpStage.RCPT),
    ],
)
def test_replies_about_the_recipient_or_a_busy_server_raise_no_alert(reply):
    # Given a policy refusal of a recipient, a bad mailbox, a server closing, a temporary AUTH
    # failure on its side, an acceptance: none says our setup is wrong
    assert classify_reply(reply).alert is None


def test_a_5_7_x_refusal_at_rcpt_is_still_a_rejection_of_the_recipient():
    # Given the same 5.7.x class as a failed login, but at RCPT (the relay's policy for this address)
    verdict = classify_reply(SmtpReply(554, "5.7.1 <x@y.example>: Recipient address rejected", SmtpStage.RCPT))
    # Then the recipient is rejected: the stage tells the two apart
    assert verdict.outcome is Outcome.REJECTED and verdict.alert is None


def test_a_deferred_setup_refusal_says_what_to_fix_in_the_recipient_state():
    # Given a recipient whose attempt met a wrong password
    st = start_attempt(RecipientState("els@acme.example", "to"), 1000.0)
    reply = SmtpReply(535, "5.7.8 Error: authentication failed", SmtpStage.AUTH)
    # When the attempt finishes
    after = finish_attempt(st, reply, now=1001.0, policy=RetryPolicy(jitter=0.0), rng=random.Random(0))
    # Then it is deferred and retried, and its reply names the settings before the relay's text
    assert after.state is Outcome.DEFERRED and after.next_attempt_at == 1001.0 + 300.0
    assert after.reply.startswith("the relay refused our login (SMTP_USERNAME, SMTP_PASSWORD): 535 5.7.8")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("5.2.2", Outcome.DEFERRED),
        ("4.2.2", Outcome.DEFERRED),
        ("5.1.1", Outcome.REJECTED),
        ("5.7.1", Outcome.REJECTED),
        ("5.0.0", Outcome.REJECTED),
        ("4.4.7", Outcome.DEFERRED),
        ("2.0.0", Outcome.ACCEPTED),
    ],
)
def test_a_dsn_status_alone_is_read_by_the_same_table(status, outcome):
    # Given a status as a DSN reports it, when it is classified, then as the session's reply would be
    assert classify_status(status).outcome is outcome
