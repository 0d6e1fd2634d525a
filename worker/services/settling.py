"""Settling an invoice: numbering it and creating its delivery in one script, with its
recipients, locale and first reminder (windows, later periods and usage all settle this way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.domain.model import Account, Contact, Invoice
from worker.emails.kinds import INVOICE, kind
from worker.services.deliveries import addressing
from worker.store.deliveries import Settlement


@dataclass(frozen=True)
class Settled:
    invoice_number: str
    delivery_id: str
    #: The delivery's due member is claimed by the settler until then (it sends it next).
    lease: float


async def settle_invoice(
    settle: Callable[[Invoice | None, Settlement], Awaitable[str | None]],
    invoice: Invoice | None,
    billing_contact: Contact,
    account: Account | None,
    *,
    now: datetime,
    lease_s: float,
    first_reminder: float | None = None,
    email: str = INVOICE,
    context: dict[str, Any] | None = None,
) -> Settled | None:
    """Settle a draft through `settle` (a store method bound to what it settles) with its
    recipients and locale; returns the new invoice, or None (nothing billable, or settled first
    by another worker)."""
    # Addressed as `create_delivery` addresses any delivery; the settle script stores it.
    address = addressing(email, billing_contact, account)
    lease = now.timestamp() + lease_s
    # The first reminder's due time is created with the invoice, in the same script: none is lost.
    settlement = Settlement(address.payload, address.locale, address.states, now, lease, first_reminder, context)
    number = await settle(invoice, settlement)
    return Settled(number, kind(email).delivery_id(number), lease) if number else None
