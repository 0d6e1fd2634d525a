"""What a log record is about: the event or the delivery being worked on, set by the actors
around each piece of work (a context variable: each asyncio task has its own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from worker.emails.kinds import KINDS, Loads, kind_of_delivery

_ABOUT: ContextVar[dict[str, str] | None] = ContextVar("log_about", default=None)


@contextmanager
def about(**ids: str | None) -> Iterator[None]:
    """Records logged inside name these ids (`event_id`, `delivery_id`, ...), on top of any outer ones."""
    token = _ABOUT.set({**(_ABOUT.get() or {}), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _ABOUT.reset(token)


def about_delivery(delivery_id: str) -> dict[str, str]:
    """A delivery's ids: the id, its kind (its first part) and the business key (an invoice number
    for an invoice, a reminder or a credit note)."""
    kind, rest = kind_of_delivery(delivery_id), delivery_id.partition(":")[2]
    ids = {"delivery_id": delivery_id, "kind": kind}
    email = KINDS.get(kind)
    if email is not None and email.loads is Loads.INVOICE:  # its id's first part is the invoice number
        ids["invoice_number"] = rest.split(":", 1)[0]
    return ids


def member_ids(member: str) -> dict[str, str]:
    """The ids of a due member's work: a delivery's, an order's, an invoice's, an event's."""
    kind, _, ident = member.partition(":")
    if kind in ("deliver", "retain"):
        return about_delivery(ident)
    field = {"window": "order_id", "period": "subscription_id", "remind": "invoice_number", "event": "event_id"}
    return {field[kind]: ident} if kind in field else {}


def recipient_domain(address: str) -> str:
    """What logs say of a recipient: its domain, never the whole address (a log pipeline keeps
    what it is sent; `status` shows the addresses to whoever may see them)."""
    return address.rpartition("@")[2].lower()


_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"@]+@(?=[^\s@])")


def mask_addresses(text: str) -> str:
    """`text` (an SMTP reply, a bounce's diagnostic) with each address's local part masked:
    ``550 5.1.1 <jan@acme.example> unknown`` -> ``550 5.1.1 <*@acme.example> unknown``."""
    return _ADDRESS.sub("*@", text)


def log_context() -> dict[str, str]:
    return dict(_ABOUT.get() or {})
