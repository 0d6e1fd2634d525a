"""Names of the members of the due-time index (one sorted set of due times in Redis).

`window:<order>`: an order's invoice window closes; `deliver:<delivery>`: a delivery's next
attempt; `period:<subscription>`: a later billing period of a subscription falls due;
`event:<event id>`: a parked event is tried again; `remind:<invoice>`: an invoice's next payment
reminder step falls due; `retain:<delivery>`: a delivery's built message (and its invoice's
documents) may be dropped, its retention over.
"""

from __future__ import annotations

WINDOW = "window:"
DELIVER = "deliver:"
PERIOD = "period:"
EVENT = "event:"
REMIND = "remind:"
RETAIN = "retain:"
#: Every kind of member, as `parse_member` names it.
MEMBER_KINDS = ("window", "deliver", "period", "event", "remind", "retain")


def window_member(order_id: str) -> str:
    return WINDOW + order_id


def deliver_member(delivery_id: str) -> str:
    return DELIVER + delivery_id


def period_member(subscription_id: str) -> str:
    return PERIOD + subscription_id


def event_member(event_id: str) -> str:
    """An event parked until what it needs (its account, its rewards) may have arrived."""
    return EVENT + event_id


def remind_member(invoice_number: str) -> str:
    """An invoice's next payment reminder (one member per invoice: its next step's time)."""
    return REMIND + invoice_number


def retain_member(delivery_id: str) -> str:
    """A finished delivery whose message bytes go once its retention is over (MESSAGE_RETENTION_DAYS)."""
    return RETAIN + delivery_id


def parse_member(member: str) -> tuple[str, str]:
    """("window", order_id), ("deliver", delivery_id) or ("period", subscription_id).

    Raises:
      ValueError: an unknown member.
    """
    kind, sep, ident = member.partition(":")
    if not sep or kind not in MEMBER_KINDS:
        raise ValueError(f"unknown due member {member!r}")
    return kind, ident
