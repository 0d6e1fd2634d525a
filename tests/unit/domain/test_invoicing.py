"""From activations to draft invoices: the account a closed window waits for. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.domain.invoicing import plan_invoices
from worker.domain.model import Account, Contact, Order, OrderLine

ORDER = Order(
    order_id="O-1",
    account_id="A-1",
    subscription_id="S-1",
    billing_contact=Contact("Els de Vries", "els@acme.example", "nl-NL"),
    po_number=None,
    payment_method="invoice",
    currency="USD",
    billing_frequency="annual_in_advance",
    term_start=date(2026, 1, 1),
    term_end=date(2026, 12, 31),
    lines=(OrderLine("L1", "Compute", "paas", Decimal("0.21"), annual_amount=Decimal("24000.00")),),
)
ACTIVATED = {"L1": datetime(2026, 1, 1, 9, tzinfo=UTC)}
GRACE = timedelta(hours=1)


def plan(account, now):
    return plan_invoices(
        ORDER, account, ACTIVATED, [], now=now, window_days=15, payment_term_days=30, account_grace=GRACE
    )


def test_a_closed_window_waits_for_its_unknown_account_within_the_grace():
    result = plan(None, datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
    assert result.drafts == ()
    assert result.account_wait_until == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_after_the_grace_the_invoice_goes_out_without_the_account():
    result = plan(None, datetime(2026, 1, 1, 10, 1, tzinfo=UTC))
    (draft,) = result.drafts
    assert draft.invoice.total == Decimal("29040.00") and draft.invoice.account_name == ""
    assert result.account_wait_until is None


def test_a_known_account_never_waits():
    account = Account("A-1", "Acme B.V.", "NL", "commercial")
    result = plan(account, datetime(2026, 1, 1, 9, 30, tzinfo=UTC))
    (draft,) = result.drafts
    assert draft.invoice.account_name == "Acme B.V." and draft.invoice.due_on == date(2026, 1, 31)
