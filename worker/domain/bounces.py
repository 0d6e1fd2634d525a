"""Bounces: what an inbound bounce message reports, and what that report does to a recipient's
delivery state. Pure: a parsed message in, values and a decision out.

Reading a report: for each recipient the action (failed, delayed, delivered) and the RFC 3463
status. RFC 3464 delivery-status reports are read with the stdlib `email` package; other formats
(qmail, old Exim, vendor text) are left to flufl.bounce's detectors. Auto-replies (RFC 3834
`Auto-Submitted`, vendor headers, "Out of Office" subjects) are not bounces.

What a report does (`decide_bounce`):

- failed with a permanent status (5.x.x): the recipient is `bounced` and the address is suppressed;
- failed with a temporary status (4.x.x, a relay gave up on a temporary problem, or x.2.2
  mailbox full, temporary whatever its class, as in `worker.domain.delivery.REPLY_TABLE`): resent
  later, at most `resend_max` times, then `failed`; the address is not suppressed;
- delayed, delivered: only recorded;
- an auto-reply or an unrecognised message: only recorded, never a bounce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from email.message import Message
from email.utils import collapse_rfc2231_value
from enum import StrEnum
from typing import Any

from flufl.bounce import all_failures

from worker.domain.delivery import Outcome, RecipientState, classify_status


class ReportKind(StrEnum):
    DSN = "dsn"  #: an RFC 3464 multipart/report
    NON_STANDARD = "non_standard"  #: recognised by flufl.bounce
    AUTO_REPLY = "auto_reply"  #: out of office and the like: not a bounce
    UNRECOGNISED = "unrecognised"


class Action(StrEnum):
    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"


@dataclass(frozen=True)
class RecipientReport:
    recipient: str
    action: Action
    status: str  #: RFC 3463 code, e.g. "5.1.1"
    diagnostic: str = ""

    @property
    def permanent(self) -> bool:
        """A failure that no retry can mend, by the SMTP reply table's rule for its status (a
        5.2.2 mailbox full is temporary here as in the session)."""
        return self.action is Action.FAILED and classify_status(self.status).outcome is Outcome.REJECTED


@dataclass(frozen=True)
class BounceReport:
    kind: ReportKind
    recipients: tuple[RecipientReport, ...] = ()
    #: Message-ID of the message that bounced, when the report quotes its headers.
    original_message_id: str | None = None

    def for_recipient(self, address: str) -> RecipientReport | None:
        """The entry for `address`, or the only entry when the report names one recipient
        (relays often rewrite the address they report)."""
        wanted = address.casefold()
        for entry in self.recipients:
            if entry.recipient.casefold() == wanted:
                return entry
        return self.recipients[0] if len(self.recipients) == 1 else None


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
#: Actions of RFC 3464 section 2.3.3; relayed and expanded count as delivered for us.
_ACTIONS = {
    "failed": Action.FAILED,
    "delayed": Action.DELAYED,
    "delivered": Action.DELIVERED,
    "relayed": Action.DELIVERED,
    "expanded": Action.DELIVERED,
}
#: Status to assume when a report gives an action without one.
_DEFAULT_STATUS = {Action.FAILED: "5.0.0", Action.DELAYED: "4.0.0", Action.DELIVERED: "2.0.0"}

#: Headers that mark an automatic reply, with the values that do (None: any value).
_AUTO_REPLY_HEADERS: dict[str, re.Pattern[str] | None] = {
    "auto-submitted": re.compile(r"^\s*auto-replied", re.I),
    "x-autoreply": None,
    "x-autorespond": None,
    "x-auto-response-suppress": None,
    "precedence": re.compile(r"^\s*auto_reply", re.I),
}
_AUTO_REPLY_SUBJECT = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|afwezig|abwesenheit", re.I
)


def classify_bounce(msg: Message) -> BounceReport:
    """Read a bounce: a DSN first (DSNs carry `Auto-Submitted` too), then auto-replies, then
    the non-standard formats flufl.bounce knows."""
    dsn = _delivery_status(msg)
    if dsn is not None:
        return dsn
    if is_auto_reply(msg):
        return BounceReport(ReportKind.AUTO_REPLY)
    temporary, permanent = all_failures(msg)
    entries = [
        RecipientReport(_text(addr), Action.FAILED, _status_in(msg, "5.0.0"), "reported by a non-standard bounce")
        for addr in sorted(permanent)
    ] + [
        RecipientReport(
            _text(addr), Action.FAILED, _status_in(msg, "4.0.0", temporary=True), "reported by a non-standard bounce"
        )
        for addr in sorted(temporary - permanent)
    ]
    if entries:
        return BounceReport(ReportKind.NON_STANDARD, tuple(entries), _original_message_id(msg))
    return BounceReport(ReportKind.UNRECOGNISED)


def is_auto_reply(msg: Message) -> bool:
    for header, pattern in _AUTO_REPLY_HEADERS.items():
        value = msg.get(header)
        if value is not None and (pattern is None or pattern.search(str(value))):
            return True
    return bool(_AUTO_REPLY_SUBJECT.search(str(msg.get("subject", ""))))


def _delivery_status(msg: Message) -> BounceReport | None:
    # An RFC 2231 parameter comes back as a (charset, language, value) tuple: collapsed to its text.
    report_type = collapse_rfc2231_value(msg.get_param("report-type", ""))
    if msg.get_content_type() != "multipart/report" or report_type.lower() != "delivery-status":
        return None
    entries = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The email package parses the part into blocks of fields: per message, then per recipient.
        blocks = part.get_payload()
        for block in blocks[1:] if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            entry = _recipient_entry(block)
            if entry is not None:
                entries.append(entry)
    return BounceReport(ReportKind.DSN, tuple(entries), _original_message_id(msg))


def _recipient_entry(fields: Message) -> RecipientReport | None:
    recipient = _address_field(fields.get("final-recipient")) or _address_field(fields.get("original-recipient"))
    action = _ACTIONS.get(str(fields.get("action", "")).strip().lower())
    if not recipient or action is None:
        return None
    match = _STATUS.search(str(fields.get("status", "")))
    status = match.group(0) if match else _DEFAULT_STATUS[action]
    diagnostic = " ".join(str(fields.get("diagnostic-code", "")).split())
    if ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    return RecipientReport(recipient, action, status, diagnostic)


def _address_field(value: object) -> str:
    """`rfc822; els@acme.example` -> `els@acme.example`."""
    if value is None:
        return ""
    text = str(value)
    return text.split(";", 1)[1].strip().strip("<>") if ";" in text else text.strip().strip("<>")


def _original_message_id(msg: Message) -> str | None:
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            value: object
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                value = payload[0].get("message-id")
            else:
                match = re.search(r"^Message-ID:\s*(<[^>]+>)", str(payload), re.I | re.M)
                value = match.group(1) if match else None
            if value:
                return str(value).strip()
    return None


def _status_in(msg: Message, default: str, *, temporary: bool = False) -> str:
    """The first enhanced status code of the wanted class quoted in the text, else `default`."""
    wanted = "4" if temporary else "5"
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
            for match in _STATUS.finditer(text):
                if match.group(1) == wanted:
                    return match.group(0)
    return default


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw


@dataclass(frozen=True)
class BounceDecision:
    #: The recipient's new state, or None when the report changes nothing.
    new_state: RecipientState | None
    #: Put the address on the suppression list.
    suppress: bool
    #: When to send again (a temporary failure), else None.
    resend_at: float | None
    status: str
    summary: str
    #: What goes into the delivery's history.
    record: dict[str, Any]


def decide_bounce(
    report: BounceReport,
    recipient: str,
    current: RecipientState | None,
    *,
    now: float,
    resend_delay_s: float,
    resend_max: int,
) -> BounceDecision:
    record: dict[str, Any] = {"recipient": recipient, "report": str(report.kind)}
    entry = report.for_recipient(recipient) if report.kind in (ReportKind.DSN, ReportKind.NON_STANDARD) else None
    if entry is None:
        what = "auto-reply: not a bounce" if report.kind is ReportKind.AUTO_REPLY else "no report for this recipient"
        return BounceDecision(None, False, None, "", what, {**record, "effect": what})
    record.update(action=str(entry.action), status=entry.status, diagnostic=entry.diagnostic)
    text = f"bounce {entry.action} {entry.status}" + (f": {entry.diagnostic}" if entry.diagnostic else "")
    if entry.permanent:
        new = (
            None
            if current is None
            else replace(current, state=Outcome.BOUNCED, reply=text, updated_at=now, next_attempt_at=None)
        )
        return BounceDecision(new, True, None, entry.status, text, {**record, "effect": "bounced; address suppressed"})
    if entry.action is Action.FAILED:
        if current is None or current.state is not Outcome.ACCEPTED:
            return BounceDecision(
                None,
                False,
                None,
                entry.status,
                text,
                {**record, "effect": "recorded (not accepted: nothing to resend)"},
            )
        if current.bounce_resends >= resend_max:
            new = replace(
                current,
                state=Outcome.FAILED,
                reply=f"{text} (after {resend_max} resends)",
                updated_at=now,
                next_attempt_at=None,
            )
            return BounceDecision(
                new, False, None, entry.status, text, {**record, "effect": "failed: resend limit reached"}
            )
        at = now + resend_delay_s
        new = replace(
            current,
            state=Outcome.DEFERRED,
            reply=text,
            updated_at=now,
            next_attempt_at=at,
            bounce_resends=current.bounce_resends + 1,
        )
        return BounceDecision(
            new,
            False,
            at,
            entry.status,
            text,
            {**record, "effect": f"resend {new.bounce_resends} of at most {resend_max}"},
        )
    return BounceDecision(None, False, None, entry.status, text, {**record, "effect": "recorded"})
