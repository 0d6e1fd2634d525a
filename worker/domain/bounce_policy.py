"""What a bounce report does to a recipient's delivery state. Pure: values in, a decision out.

- failed with a 5.x.x status: the recipient is `bounced` and the address is suppressed;
- failed with a 4.x.x status (a relay gave up on a temporary problem): resent later, at most
  `resend_max` times, then `failed`;
- delayed, delivered: only recorded;
- an auto-reply or an unrecognised message: only recorded, never a bounce.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from worker.domain.bounce_reports import Action, BounceReport, ReportKind
from worker.domain.delivery import RecipientState
from worker.domain.smtp_replies import Outcome


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
