"""What the card-failed, rewards-code and redemption emails say: frozen values, kept as JSON in
their delivery and rebuilt into the template context (worker/emails.py, worker/preview.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from worker.domain.model import Contact


@dataclass(frozen=True)
class CardFailure:
    invoice_number: str
    amount: Decimal
    currency: str
    failed_at: datetime
    #: The producer's reason with card numbers already redacted ("" when none was given).
    reason: str = ""
    account_name: str = ""


@dataclass(frozen=True)
class RewardNotice:
    """A month's Support Rewards. The redemption code is not here: it is a secret kept apart
    (worker/sealed.py) and added to the template context only while the message is built."""

    account_id: str
    month: str
    amount: Decimal
    currency: str
    accrued_on: date
    expires_on: date
    account_name: str = ""


@dataclass(frozen=True)
class RedeemedLot:
    amount: Decimal
    expires_on: date


@dataclass(frozen=True)
class RedemptionNotice:
    invoice_number: str
    currency: str
    amount: Decimal
    redeemed_at: datetime
    invoice_excl_tax: Decimal
    invoice_tax: Decimal
    cumulative_redeemed: Decimal
    remaining_due: Decimal
    lots: tuple[RedeemedLot, ...] = ()
    account_name: str = ""

    @property
    def invoice_total(self) -> Decimal:
        return self.invoice_excl_tax + self.invoice_tax


@dataclass(frozen=True)
class PaymentNotice:
    """A payment received on an invoice, and where the invoice stands after it."""

    invoice_number: str
    currency: str
    amount: Decimal
    received_at: datetime
    #: What is left to pay after it; 0 once closed.
    balance: Decimal
    #: Paid beyond the total (Billing Support applies or refunds it).
    overpaid: Decimal
    invoice_total: Decimal
    account_name: str = ""


@dataclass(frozen=True)
class ReminderNotice:
    """A payment reminder: the invoice's balance and due date, and the step (days from the due
    date: negative before it, positive once it is overdue)."""

    invoice_number: str
    currency: str
    balance: Decimal
    invoice_total: Decimal
    issued_on: date
    due_on: date
    offset: int
    account_name: str = ""


@dataclass(frozen=True)
class CreditNotice:
    """A credit note's email: what it cancels, and what becomes of what was paid."""

    credit_note: str
    credited: str
    credited_issued_on: date
    reason: str
    #: The invoice that replaces the credited one, when it was re-invoiced.
    replacement: str | None
    #: What was paid on the credited invoice: applied to the replacement, or kept as a credit.
    paid: Decimal
    account_name: str = ""


_ADAPTERS: dict[type, TypeAdapter[Any]] = {
    kind: TypeAdapter(kind)
    for kind in (CardFailure, RewardNotice, RedemptionNotice, PaymentNotice, ReminderNotice, CreditNotice, Contact)
}


def to_jsonable(value: Any) -> Any:
    return _ADAPTERS[type(value)].dump_python(value, mode="json")


def from_jsonable(kind: type, data: Any) -> Any:
    return _ADAPTERS[kind].validate_python(data)
