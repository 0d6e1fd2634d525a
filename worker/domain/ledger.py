"""An invoice's ledger: what covered its total, what is left, and its state (DOMAIN.md section 8).
Pure: the entries and `today` are passed in.

- **open** until the due date, **overdue** from the day after it while a balance is left,
  **closed** once payments, rewards redeemed and credits cover the total including tax;
- **disputed** while a dispute is open (no reminder is sent), **credited** once a credit note
  cancelled it (it is never reminded again, whatever it shows).

An entry is idempotent by its reference (the payment's event id): recording it again changes
nothing. More than the total is recorded as paid; the excess is the overpayment, which Billing
Support applies to other invoices or refunds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from worker.domain.money import round_money

#: What an entry is: a payment received, rewards redeemed, or what was paid on a credited
#: invoice carried over to its replacement.
EntryKind = Literal["payment", "rewards", "carried"]
#: The states `status` shows and the portal knows (plus `disputed` and `credited`).
STATES = ("open", "overdue", "closed", "disputed", "credited")


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    #: What makes it unique: the payment's or redemption's event id, the credited invoice.
    ref: str
    amount: Decimal
    at: datetime
    #: The payment method (`bank_transfer`, `credit_card`, ...), for a payment.
    method: str | None = None


@dataclass(frozen=True)
class Ledger:
    invoice_number: str
    currency: str
    #: The invoice's total including tax.
    total: Decimal
    due_on: date
    entries: tuple[Entry, ...] = ()
    #: "open" while a dispute is open, else None.
    dispute: str | None = None
    #: The credit note that cancelled the invoice, once credited.
    credited_by: str | None = None

    @property
    def covered(self) -> Decimal:
        return round_money(sum((entry.amount for entry in self.entries), Decimal(0)), self.currency)

    @property
    def balance(self) -> Decimal:
        """What is left to pay (never below zero)."""
        return max(round_money(self.total - self.covered, self.currency), Decimal(0))

    @property
    def overpaid(self) -> Decimal:
        return max(round_money(self.covered - self.total, self.currency), Decimal(0))

    def state(self, today: date) -> str:
        if self.credited_by is not None:
            return "credited"
        if self.dispute == "open":
            return "disputed"
        if self.balance == 0:
            return "closed"
        return "overdue" if today > self.due_on else "open"

    def remindable(self, today: date) -> bool:
        """Whether a reminder may go now: a balance is left and nothing pauses or ended it."""
        return self.state(today) in ("open", "overdue")

    def has(self, ref: str) -> bool:
        return any(entry.ref == ref for entry in self.entries)


def carry_over(paid: Decimal, replacement_total: Decimal | None) -> tuple[Decimal, Decimal]:
    """What was paid on a credited invoice, split into what pays its replacement (none when it
    was not re-invoiced) and what is left as the account's credit (DOMAIN.md section 8)."""
    carried = min(paid, replacement_total) if replacement_total is not None else Decimal(0)
    return carried, paid - carried


def record(ledger: Ledger, entry: Entry) -> tuple[Ledger, bool]:
    """The ledger with `entry`, and whether it is new (an entry already recorded by its
    reference changes nothing)."""
    if ledger.has(entry.ref):
        return ledger, False
    return replace(ledger, entries=(*ledger.entries, entry)), True
