"""Per-recipient delivery: the states, the SMTP reply table and the retry policy. Pure: `now` and
randomness are passed in.

What an SMTP reply means for one recipient is one table (RFC 5321 reply codes and RFC 3463
enhanced status codes). A recipient starts `pending`; an attempt marks it `sending`; the SMTP
replies make it `accepted`, `rejected` or `deferred`; a connection lost after the data went out
makes it `unknown`. Deferred and unknown recipients are tried again on a doubling backoff with
jitter, until the give-up age, then they are `failed`. Accepted recipients are never sent to again.

A reply carries the stage it answered (`SmtpStage`): a refusal of the worker's own setup (its
login, its HELO name, TLS) is not the recipient's fault, so those rows defer the recipient and
name an alert (`Verdict.alert`) for the operator, where the same code at RCPT would reject it.
The same table reads a bounce report's status (`classify_status`): mailbox full (x.2.2) is
temporary both in the session and in a DSN.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum


class Outcome(StrEnum):
    """The closed vocabulary of a recipient's delivery state."""

    PENDING = "pending"  #: not tried yet
    SENDING = "sending"  #: an attempt started and has not reported back
    ACCEPTED = "accepted"  #: the server took responsibility (2xx after DATA)
    DEFERRED = "deferred"  #: temporary failure: tried again later
    REJECTED = "rejected"  #: permanent failure: never tried again
    UNKNOWN = "unknown"  #: the connection ended after the data was sent: retried, same Message-ID
    FAILED = "failed"  #: still deferred when the give-up age was reached
    SUPPRESSED = "suppressed"  #: the address is on the suppression list: not sent
    BOUNCED = "bounced"  #: accepted, then a permanent bounce report came back (DSN 5.x.x)


#: States that end a recipient's delivery.
FINAL = frozenset({Outcome.ACCEPTED, Outcome.REJECTED, Outcome.FAILED, Outcome.SUPPRESSED, Outcome.BOUNCED})


class SmtpStage(StrEnum):
    """The part of the SMTP session a reply answered: who is at fault depends on it."""

    CONNECT = "connect"  #: TCP connect and the greeting
    TLS = "tls"  #: STARTTLS, or the TLS handshake (certificate verification)
    HELO = "helo"  #: EHLO / HELO with our SMTP_HELO_NAME
    AUTH = "auth"  #: AUTH with SMTP_USERNAME / SMTP_PASSWORD
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


@dataclass(frozen=True)
class SmtpReply:
    code: int
    message: str
    #: What the reply answered, when known (a reply to RCPT and one to AUTH mean different things).
    stage: SmtpStage | None = None

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 status code at the start of the text ("5.1.1"), if any."""
        match = _ENHANCED.match(self.message)
        return match.group(0) if match else None

    def __str__(self) -> str:
        return f"{self.code} {self.message}".strip()


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    #: Set when the reply is about the worker's own setup (credentials, HELO name, TLS), not the
    #: recipient: the stable name of the alert to raise. Such a recipient is only deferred.
    alert: str | None = None


_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")

#: Reply code 0 stands for "no reply": the connection failed or timed out before an answer.
NO_REPLY = 0

#: Alert names (stable: operators grep logs and read counters by them).
ALERT_AUTH_FAILED = "smtp_auth_failed"
ALERT_AUTH_REQUIRED = "smtp_auth_required"
ALERT_HELO_REFUSED = "smtp_helo_refused"
ALERT_TLS_FAILED = "smtp_tls_failed"
ALERT_CONNECTION_REFUSED = "smtp_connection_refused"
ALERT_SENDER_REFUSED = "smtp_sender_refused"

#: First match wins. (stage or None, enhanced-code pattern or None, reply-code pattern or None)
#: -> (outcome, reason, alert). A row with a stage matches only replies to that stage.
REPLY_TABLE: tuple[tuple[SmtpStage | None, str | None, str | None, Outcome, str, str | None], ...] = (
    # 421 at any stage: the server is closing; the sender has already tried a fresh connection.
    (None, None, r"421", Outcome.DEFERRED, "service not available", None),
    # The worker's own setup: wrong for every email alike, fixed by the operator, never the
    # recipient's fault. Deferred (the email waits for the fix), and an alert.
    (
        SmtpStage.TLS,
        None,
        None,
        Outcome.DEFERRED,
        "TLS with the relay failed (SMTP_TLS, SMTP_CA_FILE)",
        ALERT_TLS_FAILED,
    ),
    (
        SmtpStage.HELO,
        None,
        r"0|5\d\d",
        Outcome.DEFERRED,
        "the relay refused our EHLO/HELO name (SMTP_HELO_NAME)",
        ALERT_HELO_REFUSED,
    ),
    (
        SmtpStage.AUTH,
        None,
        r"0|5\d\d",
        Outcome.DEFERRED,
        "the relay refused our login (SMTP_USERNAME, SMTP_PASSWORD)",
        ALERT_AUTH_FAILED,
    ),
    # RFC 4954's codes, whatever command they answer: 530 authentication required (or STARTTLS
    # first), 534 mechanism too weak, 535 credentials invalid, 538 encryption required.
    (
        None,
        None,
        r"53[0458]",
        Outcome.DEFERRED,
        "the relay wants authentication or TLS first (SMTP_USERNAME, SMTP_PASSWORD, SMTP_TLS)",
        ALERT_AUTH_REQUIRED,
    ),
    # A 5xx greeting: the relay does not serve this host at all (not in its networks, blocked).
    (
        SmtpStage.CONNECT,
        None,
        r"5\d\d",
        Outcome.DEFERRED,
        "the relay refused this host's connection (is it allowed to relay?)",
        ALERT_CONNECTION_REFUSED,
    ),
    # A 5xx to MAIL FROM is about the sender, which is us: MAIL_FROM or the VERP return path
    # (BOUNCE_DOMAIN) not allowed for our login (Postfix smtpd_sender_login_maps: 553 5.7.1).
    (
        SmtpStage.MAIL,
        None,
        r"5\d\d",
        Outcome.DEFERRED,
        "the relay refused our envelope sender (MAIL_FROM, BOUNCE_DOMAIN)",
        ALERT_SENDER_REFUSED,
    ),
    # Mailbox full (x.2.2) is temporary whatever the class: the mailbox may be emptied. The same
    # rule reads a DSN's status (`classify_status`).
    (None, r"[45]\.2\.2", None, Outcome.DEFERRED, "mailbox full", None),
    (None, r"5\.1\.[1-3]", None, Outcome.REJECTED, "bad mailbox or address", None),
    (None, r"5\.7\.\d+", None, Outcome.REJECTED, "refused by policy", None),
    (None, None, r"0", Outcome.DEFERRED, "no reply from the server", None),
    (None, None, r"2\d\d", Outcome.ACCEPTED, "accepted", None),
    (None, None, r"4\d\d", Outcome.DEFERRED, "temporary failure", None),
    (None, None, r"5\d\d", Outcome.REJECTED, "permanent failure", None),
)
_COMPILED = tuple(
    (stage, re.compile(e) if e else None, re.compile(c) if c else None, outcome, reason, alert)
    for stage, e, c, outcome, reason, alert in REPLY_TABLE
)


def classify_reply(reply: SmtpReply) -> Verdict:
    """Map a reply (or NO_REPLY) to the recipient's outcome."""
    enhanced = reply.enhanced
    code = str(reply.code)
    for stage, enhanced_re, code_re, outcome, reason, alert in _COMPILED:
        if stage is not None and reply.stage is not stage:
            continue
        if enhanced_re is not None and not (enhanced and enhanced_re.fullmatch(enhanced)):
            continue
        if code_re is not None and not code_re.fullmatch(code):
            continue
        return Verdict(outcome, reason, alert)
    return Verdict(Outcome.DEFERRED, "unrecognised reply")


_STATUS_CLASS = {"2": Outcome.ACCEPTED, "4": Outcome.DEFERRED, "5": Outcome.REJECTED}


def classify_status(status: str) -> Verdict:
    """What an RFC 3463 status alone means (a DSN's `Status:`), by the same table's rows on
    enhanced codes, else by its class: one policy for a reply in the session and a report later."""
    for stage, enhanced_re, code_re, outcome, reason, alert in _COMPILED:
        if stage is None and code_re is None and enhanced_re is not None and enhanced_re.fullmatch(status):
            return Verdict(outcome, reason, alert)
    outcome = _STATUS_CLASS.get(status[:1], Outcome.DEFERRED)
    return Verdict(
        outcome, {Outcome.ACCEPTED: "accepted", Outcome.REJECTED: "permanent failure"}.get(outcome, "temporary failure")
    )


#: Defaults after Postfix's queue manager: first retry after 5 minutes, at most an hour apart,
#: give up after 5 days.
DEFAULT_RETRY_FIRST_S = 300.0
DEFAULT_RETRY_MAX_S = 3600.0
DEFAULT_GIVE_UP_S = 5 * 86400.0
#: Jitter spreads retries of many messages deferred at once: +/- this fraction of the delay.
DEFAULT_JITTER = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    first_s: float = DEFAULT_RETRY_FIRST_S
    max_s: float = DEFAULT_RETRY_MAX_S
    give_up_s: float = DEFAULT_GIVE_UP_S
    jitter: float = DEFAULT_JITTER

    def delay_s(self, attempts: int, rng: random.Random) -> float:
        """Delay before attempt number `attempts + 1`, after `attempts` failed ones."""
        base = min(self.max_s, self.first_s * 2.0 ** max(0, attempts - 1))
        return base * (1 + rng.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class RecipientState:
    address: str
    role: str  # "to" or "cc"
    state: Outcome = Outcome.PENDING
    reply: str = ""
    attempts: int = 0
    first_attempt_at: float | None = None
    updated_at: float | None = None
    next_attempt_at: float | None = None
    #: Resends caused by temporary `failed` bounce reports (limited by BOUNCE_RESEND_MAX).
    bounce_resends: int = 0


def due_recipients(states: Mapping[str, RecipientState], now: float) -> list[str]:
    """Addresses to try now: never tried, interrupted, or deferred and due."""
    due = []
    for address, st in states.items():
        if st.state in FINAL:
            continue
        if st.next_attempt_at is None or st.next_attempt_at <= now:
            due.append(address)
    return due


def start_attempt(st: RecipientState, now: float) -> RecipientState:
    # An attempt found still `sending` by the next worker was cut off mid-way: its outcome is unknown.
    return replace(
        st,
        state=Outcome.SENDING,
        attempts=st.attempts + 1,
        first_attempt_at=st.first_attempt_at if st.first_attempt_at is not None else now,
        updated_at=now,
    )


def interrupted(st: RecipientState) -> RecipientState:
    """A recipient found `sending` by a later worker: the earlier one died mid-attempt."""
    return replace(st, state=Outcome.UNKNOWN, reply="attempt interrupted (worker stopped)", next_attempt_at=None)


def give_up(st: RecipientState, reason: str, *, now: float) -> RecipientState:
    """The recipient is `failed` for good, with the reason: never tried again."""
    return replace(st, state=Outcome.FAILED, reply=reason, updated_at=now, next_attempt_at=None)


def finish_attempt(
    st: RecipientState,
    reply: SmtpReply | None,
    *,
    now: float,
    policy: RetryPolicy,
    rng: random.Random,
) -> RecipientState:
    """The state after one attempt; `reply` None means the outcome is unknown (data sent, no reply)."""
    if reply is None:
        outcome, text = Outcome.UNKNOWN, "connection lost after the message was sent: outcome unknown"
    else:
        verdict = classify_reply(reply)
        # A setup problem says so first: the reply alone (535 ...) reads like the recipient's.
        outcome, text = verdict.outcome, f"{verdict.reason}: {reply}" if verdict.alert else str(reply)
    if outcome in (Outcome.DEFERRED, Outcome.UNKNOWN):
        started = st.first_attempt_at if st.first_attempt_at is not None else now
        if now - started >= policy.give_up_s:
            return give_up(st, text, now=now)
        retry_at = now + policy.delay_s(st.attempts, rng)
        return replace(st, state=outcome, reply=text, updated_at=now, next_attempt_at=retry_at)
    return replace(st, state=outcome, reply=text, updated_at=now, next_attempt_at=None)


def next_attempt_at(states: Mapping[str, RecipientState]) -> float | None:
    """When the delivery must be looked at again, or None when every recipient is final."""
    times = [
        st.next_attempt_at if st.next_attempt_at is not None else 0.0 for st in states.values() if st.state not in FINAL
    ]
    return min(times) if times else None


def finished_at(states: Mapping[str, RecipientState]) -> float | None:
    """When the last recipient of a delivery became final (a final state always carries the
    time it was reached), or None while one is not, or when it has none."""
    if not states or any(st.state not in FINAL for st in states.values()):
        return None
    return max(st.updated_at or 0.0 for st in states.values())
