"""Per-recipient delivery: what an SMTP reply means (the reply table) and when a recipient is tried
again (the retry policy). Pure: `now` and the random source are passed in."""

from __future__ import annotations

import random

import pytest

from worker.domain.delivery import (
    DEFAULT_GIVE_UP_S,
    DEFAULT_JITTER,
    DEFAULT_RETRY_FIRST_S,
    DEFAULT_RETRY_MAX_S,
    FINAL,
    NO_REPLY,
    REPLY_TABLE,
    Outcome,
    RecipientState,
    RetryPolicy,
    SmtpReply,
    classify_reply,
    due_recipients,
    finish_attempt,
    finished_at,
    interrupted,
    next_attempt_at,
    start_attempt,
)

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
#: A policy without jitter, so that delays are exact.
EXACT = RetryPolicy(jitter=0.0)


class FixedRng(random.Random):
    """A random source whose `uniform` always lands at `fraction` of its range (0 = low end, 1 = high end)."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


MIDDLE = FixedRng(0.5)


def attempted(now: float, *, attempts: int = 0, first_attempt_at: float | None = None) -> RecipientState:
    """A recipient with `attempts` attempts behind it, the next one started at `now`."""
    st = RecipientState("els@acme.example", "to", attempts=attempts, first_attempt_at=first_attempt_at)
    return start_attempt(st, now)


# The SMTP reply table.


@pytest.mark.parametrize("code", [250, 251, 252])
def test_a_2xx_reply_means_the_server_accepted_the_message(code):
    # Given a 2xx reply after DATA
    reply = SmtpReply(code, "2.0.0 Ok: queued as 4Xb2")
    # When it is classified
    verdict = classify_reply(reply)
    # Then the recipient is accepted
    assert (verdict.outcome, verdict.reason) == (Outcome.ACCEPTED, "accepted")


@pytest.mark.parametrize("code", [450, 451, 452, 454])
def test_a_4xx_reply_is_a_temporary_failure_tried_again_later(code):
    # Given a 4xx reply without an enhanced status code
    # When it is classified
    verdict = classify_reply(SmtpReply(code, "try again later"))
    # Then the recipient is deferred
    assert (verdict.outcome, verdict.reason) == (Outcome.DEFERRED, "temporary failure")


def test_421_service_not_available_is_deferred_with_its_own_reason():
    # Given the server closing the session with 421
    # When the reply is classified
    verdict = classify_reply(SmtpReply(421, "4.3.2 Service shutting down"))
    # Then the recipient is deferred, and the reason says the service was not available
    assert (verdict.outcome, verdict.reason) == (Outcome.DEFERRED, "service not available")


@pytest.mark.parametrize("code", [550, 551, 553, 554])
def test_a_5xx_reply_is_a_permanent_failure(code):
    # Given a 5xx reply whose text carries no enhanced status code
    # When it is classified
    verdict = classify_reply(SmtpReply(code, "no such user here"))
    # Then the recipient is rejected: never tried again
    assert (verdict.outcome, verdict.reason) == (Outcome.REJECTED, "permanent failure")


@pytest.mark.parametrize("enhanced", ["5.1.1", "5.1.2", "5.1.3"])
def test_an_enhanced_5_1_x_bad_address_refines_the_rejection(enhanced):
    # Given a 550 reply with RFC 3463 status 5.1.1 (bad mailbox), 5.1.2 (bad domain) or 5.1.3 (bad syntax)
    # When it is classified
    verdict = classify_reply(SmtpReply(550, f"{enhanced} Recipient address rejected"))
    # Then the recipient is rejected because of the address
    assert (verdict.outcome, verdict.reason) == (Outcome.REJECTED, "bad mailbox or address")


def test_an_enhanced_5_7_x_policy_refusal_is_rejected_even_under_a_4xx_reply_code():
    # Given a reply with a policy status (5.7.x), once under a 5xx and once under a 4xx reply code
    # When each is classified
    under_5xx = classify_reply(SmtpReply(554, "5.7.1 Message refused by policy"))
    under_4xx = classify_reply(SmtpReply(451, "5.7.1 Relaying denied"))
    # Then both are rejected for policy: the enhanced code overrides the reply code
    assert (under_5xx.outcome, under_5xx.reason) == (Outcome.REJECTED, "refused by policy")
    assert (under_4xx.outcome, under_4xx.reason) == (Outcome.REJECTED, "refused by policy")


@pytest.mark.parametrize("reply", [SmtpReply(552, "5.2.2 Mailbox full"), SmtpReply(452, "4.2.2 Over quota")])
def test_a_full_mailbox_is_deferred_even_under_a_5xx_reply_code(reply):
    # Given a mailbox-full status (4.2.2 or 5.2.2), whatever the reply code
    # When the reply is classified
    verdict = classify_reply(reply)
    # Then the recipient is deferred: the mailbox may be emptied
    assert (verdict.outcome, verdict.reason) == (Outcome.DEFERRED, "mailbox full")


def test_other_enhanced_codes_leave_the_reply_code_to_decide():
    # Given enhanced codes the table has no row for (5.1.4, 4.7.1, 5.1.10)
    # When the replies are classified
    # Then the reply code class decides
    assert classify_reply(SmtpReply(550, "5.1.4 Ambiguous address")).reason == "permanent failure"
    assert classify_reply(SmtpReply(450, "4.7.1 Greylisted, come back later")).outcome is Outcome.DEFERRED
    assert classify_reply(SmtpReply(550, "5.1.10 Null MX")).reason == "permanent failure"


def test_an_enhanced_code_counts_only_at_the_start_of_the_text():
    # Given a reply that quotes 5.1.1 in the middle of its text
    reply = SmtpReply(550, "User unknown (5.1.1)")
    # When it is read
    # Then it has no enhanced code, and the reply code decides
    assert reply.enhanced is None
    assert classify_reply(reply).reason == "permanent failure"
    assert SmtpReply(550, "5.1.1 User unknown").enhanced == "5.1.1"


def test_no_reply_from_the_server_is_deferred():
    # Given the transport's "no reply" (connection refused or timed out before an answer)
    reply = SmtpReply(NO_REPLY, "ConnectionRefusedError: [Errno 111] Connection refused")
    # When it is classified
    verdict = classify_reply(reply)
    # Then the recipient is deferred: nothing was delivered, so it is simply tried again
    assert (verdict.outcome, verdict.reason) == (Outcome.DEFERRED, "no reply from the server")


@pytest.mark.parametrize("code", [101, 354, 600, 999])
def test_a_reply_code_outside_the_table_is_deferred_as_unrecognised(code):
    # Given a reply code the table does not know
    # When it is classified
    verdict = classify_reply(SmtpReply(code, "odd"))
    # Then the recipient is deferred rather than lost or rejected
    assert (verdict.outcome, verdict.reason) == (Outcome.DEFERRED, "unrecognised reply")


def test_the_first_matching_row_of_the_table_wins():
    # Given the table's rows: the session's own (421, the worker's setup) first, then enhanced-code
    # rows, then the reply-code classes
    setup_rows = [i for i, row in enumerate(REPLY_TABLE) if row[5] is not None]
    enhanced_rows = [i for i, row in enumerate(REPLY_TABLE) if row[1] is not None]
    class_rows = [i for i, row in enumerate(REPLY_TABLE) if row[0] is None and row[1] is None and row[5] is None]
    # Then a setup reply is one whatever its enhanced code says (535 5.7.8 is our password, not a
    # policy refusal of the recipient), and an enhanced code refines or overrides its reply class
    assert max(setup_rows) < min(enhanced_rows)
    assert max(enhanced_rows) < min(i for i in class_rows if i > min(enhanced_rows))
    # And a reply matched by two rows gets the earlier one's verdict
    assert classify_reply(SmtpReply(550, "5.1.1 unknown")).reason == "bad mailbox or address"
    assert classify_reply(SmtpReply(535, "5.7.8 Error: authentication failed")).outcome is Outcome.DEFERRED


def test_a_reply_reads_as_its_code_and_text():
    # Given replies with and without text
    # Then they read as the server sent them
    assert str(SmtpReply(250, "2.0.0 Ok")) == "250 2.0.0 Ok"
    assert str(SmtpReply(NO_REPLY, "")) == "0"


# What ends a delivery.


def test_accepted_rejected_failed_suppressed_and_bounced_are_final():
    # Given the recipient states
    # Then exactly these end the delivery; the others are tried (again)
    assert {Outcome.ACCEPTED, Outcome.REJECTED, Outcome.FAILED, Outcome.SUPPRESSED, Outcome.BOUNCED} == FINAL
    assert not {Outcome.PENDING, Outcome.SENDING, Outcome.DEFERRED, Outcome.UNKNOWN} & FINAL


def test_an_accepted_recipient_is_final_and_never_sent_to_again():
    # Given a first attempt that the server accepts
    st = finish_attempt(attempted(1000.0), SmtpReply(250, "Ok"), now=1001.0, policy=EXACT, rng=MIDDLE)
    # Then the recipient is accepted, with nothing scheduled
    assert (st.state, st.reply, st.next_attempt_at) == (Outcome.ACCEPTED, "250 Ok", None)
    # And it is never due again, and the delivery needs no further look
    assert due_recipients({st.address: st}, now=10 * DAY) == []
    assert next_attempt_at({st.address: st}) is None


def test_a_rejected_recipient_is_final_at_once():
    # Given a first attempt rejected with 550 5.1.1
    st = finish_attempt(attempted(1000.0), SmtpReply(550, "5.1.1 User unknown"), now=1001.0, policy=EXACT, rng=MIDDLE)
    # Then the recipient is rejected, not retried
    assert (st.state, st.next_attempt_at) == (Outcome.REJECTED, None)
    assert due_recipients({st.address: st}, now=10 * DAY) == []


# The retry policy.


def test_the_defaults_are_five_minutes_first_one_hour_at_most_five_days_to_give_up_ten_percent_jitter():
    # Given the default policy
    policy = RetryPolicy()
    # Then it follows Postfix's queue manager
    assert (policy.first_s, policy.max_s, policy.give_up_s, policy.jitter) == (5 * MINUTE, HOUR, 5 * DAY, 0.1)
    assert (DEFAULT_RETRY_FIRST_S, DEFAULT_RETRY_MAX_S, DEFAULT_GIVE_UP_S, DEFAULT_JITTER) == (
        300.0,
        3600.0,
        432000.0,
        0.1,
    )


def test_the_first_retry_comes_five_minutes_after_a_deferral():
    # Given a first attempt started at t=1000
    st = attempted(1000.0)
    # When the server defers it at t=1002
    st = finish_attempt(st, SmtpReply(451, "4.3.0 try later"), now=1002.0, policy=EXACT, rng=MIDDLE)
    # Then the recipient is deferred and due again five minutes later
    assert (st.state, st.attempts, st.reply) == (Outcome.DEFERRED, 1, "451 4.3.0 try later")
    assert st.next_attempt_at == 1002.0 + 5 * MINUTE


def test_the_delay_doubles_after_each_failed_attempt_up_to_one_hour():
    # Given the default policy without jitter
    # When attempts 1 to 7 fail
    delays = [EXACT.delay_s(attempts, MIDDLE) for attempts in range(1, 8)]
    # Then the delays are 5, 10, 20, 40 minutes, then one hour each
    assert delays == [5 * MINUTE, 10 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, HOUR, HOUR]
    # And before any failed attempt the delay is the first one too
    assert EXACT.delay_s(0, MIDDLE) == 5 * MINUTE


def test_successive_deferrals_space_the_attempts_on_the_doubling_backoff():
    # Given a recipient deferred again at each attempt, each attempt made when it is due
    st = RecipientState("els@acme.example", "to")
    now, gaps = 0.0, []
    for _ in range(6):
        st = start_attempt(st, now)
        st = finish_attempt(st, SmtpReply(450, "busy"), now=now, policy=EXACT, rng=MIDDLE)
        assert st.next_attempt_at is not None
        gaps.append(st.next_attempt_at - now)
        now = st.next_attempt_at
    # Then the gaps between attempts double from five minutes and stop at one hour
    assert gaps == [5 * MINUTE, 10 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, HOUR]
    assert st.attempts == 6 and st.first_attempt_at == 0.0


def test_the_first_delay_and_the_maximum_are_configurable():
    # Given a policy with a 1-minute first retry and a 3-minute maximum
    policy = RetryPolicy(first_s=MINUTE, max_s=3 * MINUTE, jitter=0.0)
    # Then the delays are 1, 2, then 3 minutes (the maximum) each
    assert [policy.delay_s(a, MIDDLE) for a in range(1, 5)] == [MINUTE, 2 * MINUTE, 3 * MINUTE, 3 * MINUTE]


@pytest.mark.parametrize(("fraction", "factor"), [(0.0, 0.9), (0.5, 1.0), (1.0, 1.1)])
def test_jitter_moves_each_delay_by_at_most_ten_percent(fraction, factor):
    # Given the default policy and a random draw at the low end, the middle or the high end
    rng = FixedRng(fraction)
    # When the delays are computed
    # Then each is the backoff delay times 0.9, 1.0 or 1.1
    assert RetryPolicy().delay_s(1, rng) == pytest.approx(5 * MINUTE * factor)
    assert RetryPolicy().delay_s(9, rng) == pytest.approx(HOUR * factor)


def test_jittered_delays_stay_within_ten_percent_and_differ_between_messages():
    # Given many messages deferred at the same moment
    rng = random.Random(7)
    delays = [RetryPolicy().delay_s(1, rng) for _ in range(200)]
    # Then their retries are spread over 270-330 s instead of all at 300 s
    assert all(270.0 <= d <= 330.0 for d in delays)
    assert len(set(delays)) > 100


def test_without_jitter_every_delay_is_exact():
    # Given a policy with jitter 0 and any random source
    # Then the delay does not depend on the random source
    assert {RetryPolicy(jitter=0.0).delay_s(2, FixedRng(f)) for f in (0.0, 0.3, 1.0)} == {10 * MINUTE}


def test_a_deferral_at_the_give_up_age_fails_the_recipient_for_good():
    # Given a recipient first tried at t=0, tried again just as five days have passed
    st = attempted(5 * DAY, attempts=8, first_attempt_at=0.0)
    # When the server defers it again
    st = finish_attempt(st, SmtpReply(451, "4.4.1 try later"), now=5 * DAY, policy=EXACT, rng=MIDDLE)
    # Then it is failed, with the last reply kept, and never tried again
    assert (st.state, st.reply, st.next_attempt_at) == (Outcome.FAILED, "451 4.4.1 try later", None)
    assert st.state in FINAL
    assert due_recipients({st.address: st}, now=6 * DAY) == []


def test_a_deferral_just_before_the_give_up_age_is_still_retried_even_past_it():
    # Given a recipient first tried at t=0, deferred one second before five days have passed
    st = attempted(5 * DAY - 1, attempts=8, first_attempt_at=0.0)
    st = finish_attempt(st, SmtpReply(451, "try later"), now=5 * DAY - 1, policy=EXACT, rng=MIDDLE)
    # Then one more attempt is scheduled an hour later, past the give-up age
    assert (st.state, st.next_attempt_at) == (Outcome.DEFERRED, 5 * DAY - 1 + HOUR)
    # When that attempt is deferred too
    st = start_attempt(st, 5 * DAY - 1 + HOUR)
    st = finish_attempt(st, SmtpReply(451, "try later"), now=5 * DAY - 1 + HOUR, policy=EXACT, rng=MIDDLE)
    # Then the recipient is failed
    assert st.state is Outcome.FAILED


def test_the_give_up_age_counts_from_the_first_attempt_and_is_configurable():
    # Given a one-hour give-up age and a recipient first tried at t=100
    policy = RetryPolicy(give_up_s=HOUR, jitter=0.0)
    st = attempted(100.0)
    st = finish_attempt(st, SmtpReply(450, "busy"), now=100.0, policy=policy, rng=MIDDLE)
    # When later attempts keep the first attempt's time
    st = start_attempt(st, 100.0 + HOUR)
    assert st.first_attempt_at == 100.0
    # Then a deferral an hour after the first attempt fails the recipient
    st = finish_attempt(st, SmtpReply(450, "busy"), now=100.0 + HOUR, policy=policy, rng=MIDDLE)
    assert st.state is Outcome.FAILED


def test_a_connection_lost_after_the_data_is_unknown_and_retried_on_the_same_backoff():
    # Given an attempt whose connection was lost after the message went out (no reply at all)
    st = attempted(1000.0)
    # When it finishes
    st = finish_attempt(st, None, now=1000.0, policy=EXACT, rng=MIDDLE)
    # Then the outcome is unknown, and the recipient is tried again after the first delay
    assert st.state is Outcome.UNKNOWN and st.state not in FINAL
    assert st.reply == "connection lost after the message was sent: outcome unknown"
    assert st.next_attempt_at == 1000.0 + 5 * MINUTE


def test_an_unknown_outcome_at_the_give_up_age_fails_too():
    # Given a recipient first tried five days ago
    st = attempted(5 * DAY, attempts=3, first_attempt_at=0.0)
    # When the connection is lost again after the data
    st = finish_attempt(st, None, now=5 * DAY, policy=EXACT, rng=MIDDLE)
    # Then it is failed
    assert (st.state, st.next_attempt_at) == (Outcome.FAILED, None)


def test_an_attempt_cut_off_by_a_stopped_worker_is_unknown_and_due_at_once():
    # Given a recipient left `sending` by a worker that stopped mid-attempt
    st = attempted(1000.0)
    assert st.state is Outcome.SENDING
    # When the next worker finds it
    st = interrupted(st)
    # Then its outcome is unknown and it is due right away
    assert (st.state, st.reply, st.next_attempt_at) == (
        Outcome.UNKNOWN,
        "attempt interrupted (worker stopped)",
        None,
    )
    assert due_recipients({st.address: st}, now=1000.0) == [st.address]


def test_only_recipients_never_tried_interrupted_or_due_are_tried_now():
    # Given recipients in every situation
    states = {
        "new@x.example": RecipientState("new@x.example", "to"),
        "later@x.example": RecipientState("later@x.example", "cc", Outcome.DEFERRED, next_attempt_at=2000.0),
        "due@x.example": RecipientState("due@x.example", "cc", Outcome.DEFERRED, next_attempt_at=1000.0),
        "done@x.example": RecipientState("done@x.example", "cc", Outcome.ACCEPTED),
        "gone@x.example": RecipientState("gone@x.example", "cc", Outcome.SUPPRESSED),
    }
    # When it is t=1000
    # Then the new and the due recipients are tried; the delivery is looked at again at once
    assert due_recipients(states, now=1000.0) == ["new@x.example", "due@x.example"]
    assert next_attempt_at(states) == 0.0
    # And once only the deferred one is left open, at its retry time
    left = {a: states[a] for a in ("later@x.example", "done@x.example")}
    assert due_recipients(left, now=1000.0) == []
    assert next_attempt_at(left) == 2000.0


def test_a_delivery_is_finished_when_its_last_recipient_became_final() -> None:
    accepted = RecipientState("els@acme.example", "to", Outcome.ACCEPTED, updated_at=100.0)
    bounced = RecipientState("ar@acme.example", "cc", Outcome.BOUNCED, updated_at=250.0)
    deferred = RecipientState("jan@acme.example", "cc", Outcome.DEFERRED, updated_at=300.0)
    assert finished_at({"els": accepted, "ar": bounced}) == 250.0
    assert finished_at({"els": accepted, "jan": deferred}) is None  # one still to try
    assert finished_at({}) is None
