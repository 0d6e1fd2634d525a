"""What an SMTP reply means for one recipient: one table, RFC 5321 reply codes and RFC 3463
enhanced status codes. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
