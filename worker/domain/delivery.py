"""Per-recipient delivery: the states, the SMTP reply table and the retry policy. Pure: `now` and
randomness are passed in.

What an SMTP reply means for one recipient is one table (RFC 5321 reply codes and RFC 3463
enhanced status codes). A recipient starts `pending`; an attempt marks it `sending`; the SMTP
replies make it `accepted`, `rejected` or `deferred`; a connection lost after the data went out
makes it `unknown`. Deferred and unknown recipients are tried again on a doubling backoff with
jitter, until the give-up age, then they are `failed`. Accepted recipients are never sent to again.
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


@dataclass(frozen=True)
class SmtpReply:
    code: int
    message: str

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


_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")

#: Reply code 0 stands for "no reply": the connection failed or timed out before an answer.
NO_REPLY = 0

#: First match wins. (enhanced-code pattern or None, reply-code pattern or None) -> verdict.
REPLY_TABLE: tuple[tuple[str | None, str | None, Outcome, str], ...] = (
    (r"[45]\.2\.2", None, Outcome.DEFERRED, "mailbox full"),
    (r"5\.1\.[1-3]", None, Outcome.REJECTED, "bad mailbox or address"),
    (r"5\.7\.\d+", None, Outcome.REJECTED, "refused by policy"),
    (None, r"0", Outcome.DEFERRED, "no reply from the server"),
    (None, r"421", Outcome.DEFERRED, "service not available"),
    (None, r"2\d\d", Outcome.ACCEPTED, "accepted"),
    (None, r"4\d\d", Outcome.DEFERRED, "temporary failure"),
    (None, r"5\d\d", Outcome.REJECTED, "permanent failure"),
)
_COMPILED = tuple(
    (re.compile(e) if e else None, re.compile(c) if c else None, outcome, reason)
    for e, c, outcome, reason in REPLY_TABLE
)


def classify_reply(reply: SmtpReply) -> Verdict:
    """Map a reply (or NO_REPLY) to the recipient's outcome."""
    enhanced = reply.enhanced
    code = str(reply.code)
    for enhanced_re, code_re, outcome, reason in _COMPILED:
        if enhanced_re is not None and not (enhanced and enhanced_re.fullmatch(enhanced)):
            continue
        if code_re is not None and not code_re.fullmatch(code):
            continue
        return Verdict(outcome, reason)
    return Verdict(Outcome.DEFERRED, "unrecognised reply")


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
        outcome, text = classify_reply(reply).outcome, str(reply)
    if outcome in (Outcome.DEFERRED, Outcome.UNKNOWN):
        started = st.first_attempt_at if st.first_attempt_at is not None else now
        if now - started >= policy.give_up_s:
            return replace(st, state=Outcome.FAILED, reply=text, updated_at=now, next_attempt_at=None)
        retry_at = now + policy.delay_s(st.attempts, rng)
        return replace(st, state=outcome, reply=text, updated_at=now, next_attempt_at=retry_at)
    return replace(st, state=outcome, reply=text, updated_at=now, next_attempt_at=None)


def next_attempt_at(states: Mapping[str, RecipientState]) -> float | None:
    """When the delivery must be looked at again, or None when every recipient is final."""
    times = [
        st.next_attempt_at if st.next_attempt_at is not None else 0.0 for st in states.values() if st.state not in FINAL
    ]
    return min(times) if times else None
