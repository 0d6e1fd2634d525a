"""Support Rewards rules (DOMAIN.md sections 5 and 6), as the pure core computes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from worker.domain.model import Account
from worker.domain.rewards import (
    RedemptionRejected,
    RewardLot,
    RewardsUnavailable,
    Usage,
    accrue,
    expiry_of,
    ineligibility,
    plan_redemption,
)

ACME = Account(account_id="A-100", name="Acme B.V.", country="NL", sector="commercial")
D = Decimal


def lot(lot_id: str, remaining: str, expires_on: date, currency: str = "USD") -> RewardLot:
    return RewardLot(lot_id, currency, D(remaining), date(2026, 1, 31), expires_on, D(remaining))


# --- accrual ------------------------------------------------------------------------------------


def test_a_customer_without_ula_earns_25_cents_per_dollar_of_oci_usage():
    reward = accrue(ACME, "2026-01", [Usage("Compute", "oci", D("1.00")), Usage("Storage", "oci", D("999.00"))], "USD")
    assert reward.amount == D("250.00")


def test_a_ula_customer_earns_33_cents_per_dollar():
    reward = accrue(replace(ACME, ula=True), "2026-01", [Usage("Compute", "oci", D("1000.00"))], "USD")
    assert reward.amount == D("330.00")


def test_only_oci_usage_counts_not_third_party_marketplace_or_saas():
    usage = [
        Usage("Compute", "oci", D("100.00")),
        Usage("VMware", "third_party", D("5000.00")),
        Usage("Marketplace image", "marketplace", D("700.00")),
        Usage("Cloud ERP", "saas", D("9000.00")),
    ]
    assert accrue(ACME, "2026-01", usage, "USD").amount == D("25.00")


def test_a_reward_is_rounded_to_the_currency_minor_unit_and_has_no_upper_limit():
    assert accrue(ACME, "2026-01", [Usage("Compute", "oci", D("0.10"))], "USD").amount == D("0.03")
    assert accrue(ACME, "2026-01", [Usage("Compute", "oci", D("1001"))], "JPY").amount == D("250")
    assert accrue(ACME, "2026-01", [Usage("Compute", "oci", D("40000000.00"))], "USD").amount == D("10000000.00")


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        (replace(ACME, pay_as_you_go=True), "pay-as-you-go"),
        (replace(ACME, country="CN"), "CN"),
        (replace(ACME, sector="us_government"), "US-government"),
    ],
)
def test_pay_as_you_go_china_and_us_government_are_not_eligible(account, reason):
    assert reason in (ineligibility(account) or "")


def test_commercial_and_public_accounts_elsewhere_are_eligible():
    assert ineligibility(ACME) is None
    assert ineligibility(replace(ACME, sector="public", country="US")) is None


# --- expiry -------------------------------------------------------------------------------------


def test_accrued_end_of_december_2021_expires_end_of_december_2022():
    assert expiry_of("2021-12") == date(2022, 12, 31)


def test_expiry_is_the_end_of_the_same_month_a_year_later_leap_years_included():
    assert expiry_of("2023-02") == date(2024, 2, 29)
    assert expiry_of("2026-01") == date(2027, 1, 31)
    reward = accrue(ACME, "2021-12", [Usage("Compute", "oci", D("4.00"))], "USD")
    assert (reward.accrued_on, reward.expires_on, reward.remaining) == (
        date(2021, 12, 31),
        date(2022, 12, 31),
        D("1.00"),
    )


# --- redemption ---------------------------------------------------------------------------------


def plan(lots, amount, *, excl_tax="1000.00", tax="210.00", already="0", on=date(2026, 6, 1)):
    return plan_redemption(
        lots, amount=D(amount), currency="USD", invoice_excl_tax=D(excl_tax), invoice_tax=D(tax),
        already_redeemed=D(already), redeemed_on=on,
    )  # fmt: skip


def test_the_earliest_expiring_lot_is_used_first():
    # Given a later-expiring lot listed before an earlier one
    lots = [lot("2026-03", "300.00", date(2027, 3, 31)), lot("2026-01", "100.00", date(2027, 1, 31))]
    result = plan(lots, "250.00")
    assert [(a.lot_id, a.amount) for a in result.allocations] == [("2026-01", D("100.00")), ("2026-03", D("150.00"))]
    assert {lot.lot_id: lot.remaining for lot in result.lots_after} == {"2026-01": D("0.00"), "2026-03": D("150.00")}


def test_expired_lots_are_not_used():
    lots = [lot("2025-04", "500.00", date(2026, 4, 30)), lot("2026-01", "100.00", date(2027, 1, 31))]
    with pytest.raises(RewardsUnavailable, match="unexpired rewards of 100.00"):
        plan(lots, "200.00", on=date(2026, 6, 1))
    # On its last day a lot is still valid
    assert plan(lots, "200.00", on=date(2026, 4, 30)).allocations[0].lot_id == "2025-04"


def test_lots_in_another_currency_are_not_used():
    with pytest.raises(RewardsUnavailable):
        plan([lot("2026-01", "500.00", date(2027, 1, 31), currency="EUR")], "100.00")


def test_only_the_amount_excluding_tax_can_be_paid_with_rewards():
    lots = [lot("2026-01", "5000.00", date(2027, 1, 31))]
    # The whole pre-tax amount may be paid; the tax stays due
    result = plan(lots, "1000.00")
    assert (result.cumulative_redeemed, result.remaining_due) == (D("1000.00"), D("210.00"))
    # One cent more is rejected, naming the amount field
    with pytest.raises(RedemptionRejected) as rejected:
        plan(lots, "1000.01")
    assert rejected.value.field == "data.amount" and "tax cannot be paid with rewards" in rejected.value.reason


def test_redemptions_add_up_per_invoice_and_the_cap_counts_what_was_redeemed_before():
    lots = [lot("2026-01", "5000.00", date(2027, 1, 31))]
    second = plan(lots, "300.00", already="600.00")
    assert second.cumulative_redeemed == D("900.00")
    assert second.remaining_due == D("310.00")  # 1000 + 210 tax - 900
    with pytest.raises(RedemptionRejected, match="400.00 USD"):
        plan(lots, "400.01", already="600.00")
