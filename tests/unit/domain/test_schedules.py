"""Billing schedules: every worked example of DOMAIN.md section 2, and money properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tests.support.billing_examples import account, order, order_line, three_year_order
from worker.domain.billing import charge, service_months
from worker.domain.money import minor_unit_exponent, round_money
from worker.domain.schedules import (
    activation_line,
    frequency_error,
    line_schedule,
    plan_period_invoices,
    scheduled_periods,
)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


# --- co-terming and proration -----------------------------------------------------------------


def test_paas_activated_on_the_term_start_is_charged_12_months_24000() -> None:
    # Given PaaS 1 Jan - 31 Dec at USD 24,000 a year, when activated on 1 January
    line = activation_line(order(), order_line(), date(2026, 1, 1))
    # Then it bills 1 Jan - 31 Dec, USD 24,000.00 + 21% tax
    assert line is not None
    assert (line.period_start, line.period_end, line.amount, line.tax) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        Decimal("24000.00"),
        Decimal("5040.00"),
    )


def test_saas_activated_on_1_february_is_co_termed_11_months_22000() -> None:
    saas = order_line("L2", "Fusion ERP", kind="saas")
    line = activation_line(order(saas), saas, date(2026, 2, 1))
    assert line is not None
    assert (line.period_start, line.period_end, line.amount) == (
        date(2026, 2, 1),
        date(2026, 12, 31),
        Decimal("22000.00"),
    )


def test_a_partial_month_counts_by_its_days() -> None:
    # 16-31 January is 16/31 of a month; February to December 11 whole months
    assert service_months(date(2026, 1, 16), date(2026, 12, 31)) == 11 + service_months(
        date(2026, 1, 16), date(2026, 1, 31)
    )
    line = activation_line(order(), order_line(), date(2026, 1, 16))
    assert line is not None and line.amount == Decimal("23032.26")  # 24000 * (11 + 16/31) / 12


def test_pooled_capacity_activated_late_is_charged_the_full_period() -> None:
    pooled = order_line("P1", "Universal Credits", kind="pooled")
    line = activation_line(order(pooled), pooled, date(2026, 6, 15))
    assert line is not None
    assert (line.period_start, line.amount) == (date(2026, 1, 1), Decimal("24000.00"))


def test_an_activation_after_the_term_bills_nothing() -> None:
    assert activation_line(order(), order_line(), date(2027, 1, 1)) is None


# --- billing frequencies ----------------------------------------------------------------------


def test_three_year_contract_of_120000_annual_in_advance_is_three_invoices_of_40000() -> None:
    schedule = line_schedule(three_year_order(), three_year_order().lines[0], date(2026, 1, 1))
    assert [(p.due_on, p.amount) for p in schedule] == [
        (date(2026, 1, 1), Decimal("40000.00")),
        (date(2027, 1, 1), Decimal("40000.00")),
        (date(2028, 1, 1), Decimal("40000.00")),
    ]


def test_the_same_contract_given_as_total_contract_value_over_36_months() -> None:
    line = order_line(total_contract_value=Decimal("120000"), term_months=36)
    contract = three_year_order(lines=(line,))
    assert [p.amount for p in line_schedule(contract, line, date(2026, 1, 1))] == [Decimal("40000.00")] * 3


def test_non_standard_55_month_term_first_annual_invoice_is_709_09_not_250() -> None:
    # Given years 1..5 = 250, 750, 1000, 1250, 1250: USD 3,250 over 55 months, annual in advance
    line = order_line("U1", "Universal Credits", total_contract_value=Decimal("3250"), term_months=55)
    contract = order(line, term_end=date(2030, 7, 31))
    schedule = line_schedule(contract, line, date(2026, 1, 1))
    # Then each annual invoice is 3250 / 55 * 12 = 709.09, the last 7 months take the rest
    assert [p.amount for p in schedule] == [Decimal("709.09")] * 4 + [Decimal("413.64")]
    assert sum(p.amount for p in schedule) == Decimal("3250.00")
    first = activation_line(contract, line, date(2026, 1, 1))
    assert first is not None and first.amount == Decimal("709.09")


def test_quarterly_in_advance_bills_a_quarter_of_the_annual_amount_at_each_quarter_start() -> None:
    contract = order(billing_frequency="quarterly_in_advance")
    schedule = line_schedule(contract, contract.lines[0], date(2026, 1, 1))
    assert [(p.due_on, p.amount) for p in schedule] == [
        (date(2026, 1, 1), Decimal("6000.00")),
        (date(2026, 4, 1), Decimal("6000.00")),
        (date(2026, 7, 1), Decimal("6000.00")),
        (date(2026, 10, 1), Decimal("6000.00")),
    ]
    # The first quarter is on the activation's invoice; the others on scheduled invoices
    assert activation_line(contract, contract.lines[0], date(2026, 1, 1)).amount == Decimal("6000.00")  # type: ignore[union-attr]
    assert len(scheduled_periods(contract, contract.lines[0], date(2026, 1, 1), anchor=date(2026, 1, 1))) == 3


def test_quarterly_in_arrears_bills_nothing_at_activation_and_each_quarter_after_it_ends() -> None:
    contract = order(billing_frequency="quarterly_in_arrears")
    assert activation_line(contract, contract.lines[0], date(2026, 2, 1)) is None
    schedule = scheduled_periods(contract, contract.lines[0], date(2026, 2, 1), anchor=date(2026, 1, 1))
    # Then the first quarter is prorated from the activation (Feb + Mar = 2 months) and billed 1 April
    assert [(p.service_start, p.due_on, p.amount) for p in schedule] == [
        (date(2026, 2, 1), date(2026, 4, 1), Decimal("4000.00")),
        (date(2026, 4, 1), date(2026, 7, 1), Decimal("6000.00")),
        (date(2026, 7, 1), date(2026, 10, 1), Decimal("6000.00")),
        (date(2026, 10, 1), date(2027, 1, 1), Decimal("6000.00")),
    ]


def test_monthly_in_arrears_is_usage_billed_nothing_at_activation_and_no_schedule() -> None:
    contract = order(billing_frequency="monthly_in_arrears")
    assert activation_line(contract, contract.lines[0], date(2026, 1, 1)) is None
    assert scheduled_periods(contract, contract.lines[0], date(2026, 1, 1), anchor=date(2026, 1, 1)) == []


def test_quarterly_in_arrears_is_for_the_public_sector_only() -> None:
    contract = order(billing_frequency="quarterly_in_arrears")
    assert frequency_error(contract, account("public")) is None
    reason = frequency_error(contract, account("commercial"))
    assert reason is not None and "public sector only" in reason and "commercial" in reason
    assert frequency_error(order(), account("commercial")) is None


# --- later periods, consolidation, splits -----------------------------------------------------


def plan(orders, activations, billed=(), *, now):
    return plan_period_invoices(orders, activations, billed, account(), now=now, payment_term_days=30)


def test_a_later_period_falls_due_at_its_start_and_is_invoiced_once() -> None:
    contract = three_year_order()
    activations = {"O-1": {"L1": at("2026-01-01T09:00:00")}}
    # Before 1 January 2027 nothing is due; the next due time is that midnight
    early = plan([contract], activations, now=at("2026-12-31T23:59:00"))
    assert early.drafts == () and early.next_due_at == at("2027-01-01T00:00:00")
    # On 1 January 2027 the second year is invoiced: 40,000.00, issued today, due net 30
    (draft,) = plan([contract], activations, now=at("2027-01-01T00:00:00")).drafts
    assert draft.keys == ("O-1:L1:2027-01-01",)
    assert draft.invoice.subtotal == Decimal("40000.00")
    assert (draft.invoice.issued_on, draft.invoice.due_on) == (date(2027, 1, 1), date(2027, 1, 31))
    # Once settled, it is not due again; the third year is next
    again = plan([contract], activations, draft.keys, now=at("2027-06-01T00:00:00"))
    assert again.drafts == () and again.next_due_at == at("2028-01-01T00:00:00")


def test_periods_missed_while_down_are_all_invoiced_and_a_line_not_active_is_not() -> None:
    contract = three_year_order(
        lines=(order_line(annual_amount=Decimal("40000.00")), order_line("L2", "Fusion ERP", kind="saas"))
    )
    drafts = plan([contract], {"O-1": {"L1": at("2026-01-01T09:00:00")}}, now=at("2028-02-01T00:00:00")).drafts
    assert [d.keys for d in drafts] == [("O-1:L1:2027-01-01",), ("O-1:L1:2028-01-01",)]


def test_a_service_added_later_is_billed_for_the_rest_of_the_period_then_consolidated() -> None:
    # Given the three-year subscription, and an add-on order on 1 July 2026 co-termed with it
    original = three_year_order()
    addon_line = order_line("A1", "Analytics", annual_amount=Decimal("12000.00"))
    addon = order(addon_line, order_id="O-2", term_start=date(2026, 7, 1), term_end=date(2028, 12, 31))
    # When the add-on is activated on 1 July: the rest of the current period (Jul - Dec), 6,000.00
    first = activation_line(addon, addon_line, date(2026, 7, 1), anchor=original.term_start)
    assert first is not None
    assert (first.period_start, first.period_end, first.amount) == (
        date(2026, 7, 1),
        date(2026, 12, 31),
        Decimal("6000.00"),
    )
    # Then on 1 January 2027 one invoice consolidates both orders of the subscription
    activations = {"O-1": {"L1": at("2026-01-01T09:00:00")}, "O-2": {"A1": at("2026-07-01T09:00:00")}}
    (draft,) = plan([addon, original], activations, now=at("2027-01-01T00:00:00")).drafts
    assert [(line.order_id, line.amount) for line in draft.invoice.lines] == [
        ("O-1", Decimal("40000.00")),
        ("O-2", Decimal("12000.00")),
    ]
    assert draft.invoice.order_id == "O-1" and draft.invoice.split_reason == ""


def test_an_add_on_with_another_po_number_is_invoiced_separately_with_the_reason() -> None:
    original = three_year_order()
    addon = order(order_line("A1", "Analytics"), order_id="O-2", po_number="PO-88", term_end=date(2028, 12, 31))
    activations = {"O-1": {"L1": at("2026-01-01T09:00:00")}, "O-2": {"A1": at("2026-01-01T09:00:00")}}
    drafts = plan([original, addon], activations, now=at("2027-01-01T00:00:00")).drafts
    assert [(d.invoice.po_number, d.keys) for d in drafts] == [
        ("PO-77", ("O-1:L1:2027-01-01",)),
        ("PO-88", ("O-2:A1:2027-01-01",)),
    ]
    assert drafts[0].invoice.split_reason == ""
    assert drafts[1].invoice.split_reason == "PO number PO-88 differs from PO-77 on order O-1"


def test_an_add_on_with_another_payment_method_is_invoiced_separately_with_the_reason() -> None:
    original = three_year_order()
    addon = order(
        order_line("A1", "Analytics"), order_id="O-2", payment_method="credit_card", term_end=date(2028, 12, 31)
    )
    activations = {"O-1": {"L1": at("2026-01-01T09:00:00")}, "O-2": {"A1": at("2026-01-01T09:00:00")}}
    drafts = plan([original, addon], activations, now=at("2027-01-01T00:00:00")).drafts
    assert len(drafts) == 2
    assert drafts[1].invoice.payment_method == "credit_card"
    assert "payment method credit_card differs from invoice" in drafts[1].invoice.split_reason


# --- tax and rounding -------------------------------------------------------------------------


def test_tax_is_per_line_rounded_half_up_and_the_total_is_the_sum_of_rounded_parts() -> None:
    line = order_line(annual_amount=Decimal("100.10"), tax_rate=Decimal("0.05"))
    priced = activation_line(order(line), line, date(2026, 1, 1))
    assert priced is not None and priced.tax == Decimal("5.01")  # 5.005 rounds half-up


def test_jpy_has_no_minor_unit() -> None:
    line = order_line(annual_amount=Decimal("1000005"), tax_rate=Decimal("0.1"))
    contract = order(line, currency="JPY", billing_frequency="quarterly_in_advance")
    priced = activation_line(contract, line, date(2026, 1, 1))
    # a quarter of 1,000,005 is 250,001.25 -> 250,001; tax 25,000.1 -> 25,000
    assert priced is not None and (priced.amount, priced.tax) == (Decimal("250001"), Decimal("25000"))
    amounts = [p.amount for p in line_schedule(contract, line, date(2026, 1, 1))]
    assert amounts == [Decimal("250001")] * 3 + [Decimal("250002")]  # the last absorbs the remainder


# --- properties of the money arithmetic -------------------------------------------------------

currencies = st.sampled_from(["USD", "EUR", "JPY", "GBP", "KWD"])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2)
frequencies = st.sampled_from(["annual_in_advance", "quarterly_in_advance", "quarterly_in_arrears"])
tax_rates = st.decimals(min_value=Decimal(0), max_value=Decimal("0.3"), places=3)


@st.composite
def contracts(draw):
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)))
    term_days = draw(st.integers(min_value=1, max_value=5 * 366))
    end = start + timedelta(days=term_days - 1)
    if draw(st.booleans()):
        line = order_line(annual_amount=draw(amounts), tax_rate=draw(tax_rates))
    else:
        line = order_line(
            total_contract_value=draw(amounts), term_months=draw(st.integers(1, 72)), tax_rate=draw(tax_rates)
        )
    contract = order(
        line,
        term_start=start,
        term_end=end,
        currency=draw(currencies),
        billing_frequency=draw(frequencies),
        lines=(replace(line, kind=draw(st.sampled_from(["paas", "saas", "pooled"]))),),
    )
    activated = start + timedelta(days=draw(st.integers(min_value=0, max_value=term_days - 1)))
    return contract, activated


@given(contracts())
def test_the_periods_of_a_line_add_up_to_its_rounded_contract_value_without_drift(case) -> None:
    contract, activated = case
    line = contract.lines[0]
    schedule = line_schedule(contract, line, activated)
    exact = [charge(line, service_months(p.service_start, p.service_end)) for p in schedule]
    assert sum(p.amount for p in schedule) == round_money(sum(exact), contract.currency)
    # every period but the last is its own amount rounded; the last is off by at most the
    # rounding of the others
    assert [p.amount for p in schedule[:-1]] == [round_money(e, contract.currency) for e in exact[:-1]]
    unit = minor_unit_exponent(contract.currency)
    assert abs(schedule[-1].amount - exact[-1]) <= unit / 2 * len(schedule)


@given(contracts(), st.integers(min_value=0, max_value=2000))
def test_every_invoice_total_is_the_sum_of_its_rounded_lines(case, days_later) -> None:
    contract, activated = case
    orders = [contract]
    activations = {"O-1": {"L1": datetime.combine(activated, datetime.min.time(), tzinfo=UTC)}}
    now = datetime.combine(activated + timedelta(days=days_later), datetime.min.time(), tzinfo=UTC)
    for draft in plan(orders, activations, now=now).drafts:
        invoice = draft.invoice
        assert invoice.total == sum((line.amount + line.tax for line in invoice.lines), Decimal(0))
        for line in invoice.lines:
            assert line.amount == round_money(line.amount, contract.currency)
            assert line.tax == round_money(line.amount * line.tax_rate, contract.currency)
