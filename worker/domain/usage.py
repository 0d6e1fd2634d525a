"""Usage invoices: pay-as-you-go, overage and bursting, billed monthly in arrears on actual use
(DOMAIN.md sections 2 and 8). Pure.

One invoice per (subscription, month), issued once the month has ended; each line's amount is
its quantity at its unit price (rounded to the currency's minor unit), taxed at its rate. A
bursting line may use at most twice the subscribed capacity in every hour of the month.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from worker.domain.model import Account, Contact, Invoice, InvoiceLine
from worker.domain.money import round_money

#: Bursting may reach at most this multiple of the subscribed capacity (DOMAIN.md section 8).
BURST_FACTOR = 2


@dataclass(frozen=True)
class UsageLine:
    line_id: str
    product: str
    kind: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    tax_rate: Decimal
    subscribed_quantity: Decimal | None = None


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of `YYYY-MM`."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])


def month_end(month: str) -> datetime:
    """The moment the month is over (00:00 UTC on the next month's first day)."""
    return datetime.combine(month_bounds(month)[1] + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def usage_error(lines: tuple[UsageLine, ...], month: str, currency: str) -> tuple[str, str] | None:
    """The first line that breaks a usage rule, as (field under `data`, why), or None."""
    first, last = month_bounds(month)
    hours = Decimal(((last - first).days + 1) * 24)
    for index, line in enumerate(lines):
        expected = round_money(line.quantity * line.unit_price, currency)
        if line.amount != expected:
            return (
                f"lines.{index}.amount",
                f"{line.amount} is not quantity x unit_price ({line.quantity} x {line.unit_price} = {expected})",
            )
        if line.kind == "bursting":
            if line.subscribed_quantity is None:
                return f"lines.{index}.subscribed_quantity", "a bursting line names the subscribed capacity"
            ceiling = BURST_FACTOR * line.subscribed_quantity * hours
            if line.quantity > ceiling:
                return (
                    f"lines.{index}.quantity",
                    f"bursting of {line.quantity} {line.unit} exceeds {BURST_FACTOR}x the subscribed "
                    f"{line.subscribed_quantity} over the month's {hours} hours ({ceiling})",
                )
    return None


def line_tax(line: UsageLine, currency: str) -> Decimal:
    return round_money(line.amount * line.tax_rate, currency)


def usage_invoice(
    *,
    subscription_id: str,
    month: str,
    currency: str,
    lines: tuple[UsageLine, ...],
    billing_contact: Contact,
    account_id: str,
    account: Account | None,
    issued_on: date,
    payment_term_days: int,
) -> Invoice:
    """The month's usage invoice (unnumbered), issued on `issued_on`, due `payment_term_days` later."""
    start, end = month_bounds(month)
    return Invoice(
        number="",
        # A usage invoice belongs to a subscription, not an order: its reference is the subscription.
        order_id=subscription_id,
        account_id=account_id,
        subscription_id=subscription_id,
        currency=currency,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=payment_term_days),
        po_number=None,
        lines=tuple(
            InvoiceLine(
                line_id=line.line_id,
                order_id=subscription_id,
                product=line.product,
                kind=line.kind,
                period_start=start,
                period_end=end,
                amount=line.amount,
                tax_rate=line.tax_rate,
                tax=line_tax(line, currency),
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
            )
            for line in lines
        ),
        billing_contact=billing_contact,
        account_name=account.name if account else "",
        country=account.country if account else None,
        split_reason=f"usage of {month}",
    )
