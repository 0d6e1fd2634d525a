"""An invoice's ledger: balance, overpayment and state (DOMAIN.md section 8)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from worker.domain.ledger import Entry, Ledger, record

AT = datetime(2026, 2, 1, tzinfo=UTC)


def ledger(**changes: object) -> Ledger:
    base = Ledger("INV-0000001", "USD", Decimal("29040.00"), date(2026, 2, 15))
    return base if not changes else Ledger(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def payment(amount: str, ref: str = "p1") -> Entry:
    return Entry("payment", ref, Decimal(amount), AT, "bank_transfer")


def test_an_unpaid_invoice_is_open_until_its_due_date_and_overdue_from_the_day_after() -> None:
    assert ledger().state(date(2026, 2, 15)) == "open"
    assert ledger().state(date(2026, 2, 16)) == "overdue"
    assert ledger().balance == Decimal("29040.00")


def test_payments_rewards_and_carried_amounts_together_close_it() -> None:
    book, _ = record(ledger(), payment("20000.00"))
    book, _ = record(book, Entry("rewards", "r1", Decimal("1000.00"), AT))
    assert (book.balance, book.state(date(2026, 3, 1))) == (Decimal("8040.00"), "overdue")
    book, _ = record(book, Entry("carried", "INV-0000009", Decimal("8040.00"), AT))
    assert (book.balance, book.state(date(2026, 3, 1))) == (Decimal(0), "closed")


def test_a_payment_recorded_again_by_its_reference_changes_nothing() -> None:
    book, new = record(ledger(), payment("100.00"))
    again, new_again = record(book, payment("100.00"))
    assert new and not new_again and again == book and again.covered == Decimal("100.00")


def test_an_overpayment_is_kept_and_the_balance_never_goes_below_zero() -> None:
    book, _ = record(ledger(), payment("30000.00"))
    assert (book.balance, book.overpaid, book.state(date(2026, 1, 20))) == (Decimal(0), Decimal("960.00"), "closed")


def test_a_dispute_and_a_credit_stop_reminders_whatever_the_balance() -> None:
    assert ledger(dispute="open").state(date(2026, 3, 1)) == "disputed"
    assert not ledger(dispute="open").remindable(date(2026, 3, 1))
    assert ledger(credited_by="CN-0000001", dispute="open").state(date(2026, 3, 1)) == "credited"
    assert ledger().remindable(date(2026, 3, 1)) and ledger().remindable(date(2026, 1, 20))
