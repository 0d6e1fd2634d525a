"""Support Rewards (DOMAIN.md sections 5 and 6): accrual, eligibility, expiry, redemption. Pure.

No I/O: the adapters load the account's lots and the invoice's redemptions, ask this module, and
apply the answer atomically (worker/store.py).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from worker.domain.model import Account
from worker.domain.money import round_money

#: Reward per 1.00 of eligible usage: Unlimited License Agreement customers, everyone else.
ULA_RATE = Decimal("0.33")
STANDARD_RATE = Decimal("0.25")
#: Only cloud-infrastructure usage earns rewards (not third-party, Marketplace or SaaS).
ELIGIBLE_CATEGORIES = frozenset({"oci"})
#: Rewards are valid this many months after the month they were accrued in.
VALIDITY_MONTHS = 12
#: Countries whose customers earn no rewards.
EXCLUDED_COUNTRIES = frozenset({"CN"})


class RedemptionRejected(ValueError):
    """A redemption the rules do not allow; `field` names the event field at fault."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class RewardsUnavailable(RedemptionRejected):
    """The account has too few unexpired rewards (yet: an accrual may still be on its way)."""


@dataclass(frozen=True)
class Usage:
    service: str
    category: str
    net_amount: Decimal


@dataclass(frozen=True)
class RewardLot:
    """Rewards accrued in one month on one account; `remaining` goes down with redemptions."""

    lot_id: str
    currency: str
    amount: Decimal
    accrued_on: date
    expires_on: date
    remaining: Decimal

    def usable_on(self, day: date) -> bool:
        return day <= self.expires_on and self.remaining > 0


@dataclass(frozen=True)
class Allocation:
    lot_id: str
    amount: Decimal
    expires_on: date


@dataclass(frozen=True)
class RedemptionPlan:
    allocations: tuple[Allocation, ...]
    #: Redeemed on the invoice so far, this redemption included.
    cumulative_redeemed: Decimal
    #: What the customer still owes on the invoice, tax included.
    remaining_due: Decimal
    #: The lots after the redemption (only the ones it touched).
    lots_after: tuple[RewardLot, ...]


def ineligibility(account: Account) -> str | None:
    """Why the account earns no rewards, or None when it does."""
    if account.pay_as_you_go:
        return "pay-as-you-go accounts earn no rewards"
    if account.country in EXCLUDED_COUNTRIES:
        return f"accounts in {account.country} earn no rewards"
    if account.sector == "us_government":
        return "US-government sector accounts earn no rewards"
    return None


def reward_rate(account: Account) -> Decimal:
    return ULA_RATE if account.ula else STANDARD_RATE


def month_end(month: str) -> date:
    """The last day of a `YYYY-MM` month."""
    year, number = (int(part) for part in month.split("-"))
    return date(year, number, calendar.monthrange(year, number)[1])


def expiry_of(month: str) -> date:
    """Accrued at the end of `month`, valid until the end of the same month a year later."""
    year, number = (int(part) for part in month.split("-"))
    total = year * 12 + (number - 1) + VALIDITY_MONTHS
    return month_end(f"{total // 12:04d}-{total % 12 + 1:02d}")


def accrue(account: Account, month: str, usage: Iterable[Usage], currency: str) -> RewardLot:
    """The month's reward lot: eligible usage times the account's rate, in the currency's unit.

    The caller checks `ineligibility` first; no upper limit applies.
    """
    eligible = sum((u.net_amount for u in usage if u.category in ELIGIBLE_CATEGORIES), Decimal(0))
    amount = round_money(eligible * reward_rate(account), currency)
    return RewardLot(
        lot_id=month,
        currency=currency,
        amount=amount,
        accrued_on=month_end(month),
        expires_on=expiry_of(month),
        remaining=amount,
    )


def plan_redemption(
    lots: Sequence[RewardLot],
    *,
    amount: Decimal,
    currency: str,
    invoice_excl_tax: Decimal,
    invoice_tax: Decimal,
    already_redeemed: Decimal,
    redeemed_on: date,
) -> RedemptionPlan:
    """Use the earliest-expiring usable lots for `amount` on an invoice.

    Raises:
      RedemptionRejected: the amount exceeds what is left of the invoice's amount excluding tax
        (rewards never pay tax), or the account's unexpired rewards in that currency.
    """
    payable_left = invoice_excl_tax - already_redeemed
    if amount > payable_left:
        raise RedemptionRejected(
            "data.amount",
            f"{amount} {currency} exceeds what rewards may still pay on this invoice: "
            f"{max(payable_left, Decimal(0))} {currency} of the {invoice_excl_tax} {currency} excluding tax "
            f"({already_redeemed} {currency} already redeemed; tax cannot be paid with rewards)",
        )
    usable = sorted(
        (lot for lot in lots if lot.currency == currency and lot.usable_on(redeemed_on)),
        key=lambda lot: (lot.expires_on, lot.lot_id),
    )
    available = sum((lot.remaining for lot in usable), Decimal(0))
    if amount > available:
        raise RewardsUnavailable(
            "data.amount",
            f"{amount} {currency} exceeds the account's unexpired rewards of {available} {currency}",
        )
    allocations, lots_after, left = [], [], amount
    for lot in usable:
        if left <= 0:
            break
        taken = min(lot.remaining, left)
        left -= taken
        allocations.append(Allocation(lot.lot_id, taken, lot.expires_on))
        lots_after.append(replace(lot, remaining=lot.remaining - taken))
    cumulative = already_redeemed + amount
    return RedemptionPlan(
        allocations=tuple(allocations),
        cumulative_redeemed=cumulative,
        remaining_due=invoice_excl_tax + invoice_tax - cumulative,
        lots_after=tuple(lots_after),
    )
