"""Names of the members of the due-time index (one sorted set of due times in Redis)."""

from __future__ import annotations

WINDOW = "window:"
DELIVER = "deliver:"


def window_member(order_id: str) -> str:
    return WINDOW + order_id


def deliver_member(delivery_id: str) -> str:
    return DELIVER + delivery_id


def parse_member(member: str) -> tuple[str, str]:
    """("window", order_id) or ("deliver", delivery_id).

    Raises:
      ValueError: an unknown member.
    """
    kind, sep, ident = member.partition(":")
    if not sep or kind not in ("window", "deliver"):
        raise ValueError(f"unknown due member {member!r}")
    return kind, ident
