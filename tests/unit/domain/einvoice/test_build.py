"""The legal invoice built from the invoice the worker issues: every term from the invoice, the
seller of its booking country, the buyer and the payment options the email shows."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.legal_invoices import (
    AMERICAN_BUYER,
    DUTCH_BUYER,
    GERMAN_BUYER,
    document,
    invoice,
    line,
    outside_scope,
    reverse_charge,
    standard,
    standard_invoice,
)
from worker.data.countries import countries, einvoice_policy
from worker.domain.einvoice.model import Address, Buyer, DocumentTotals, PaymentMeans, VatBreakdown
from worker.domain.einvoice.rules import check
from worker.domain.money import minor_unit_digits


def test_the_document_carries_the_invoices_terms() -> None:
    # Given a domestic Dutch invoice with a PO number
    issued = standard_invoice()
    # When its legal invoice is built
    doc = document(issued, DUTCH_BUYER)
    # Then number, dates, currency, references and the parties are the invoice's
    assert (doc.number, doc.issue_date, doc.due_date, doc.currency) == (
        "INV-2026-000042",
        date(2026, 2, 1),
        date(2026, 3, 3),
        "EUR",
    )
    assert doc.type_code == "380"
    assert doc.payment_terms == "Net 30 days"
    assert doc.purchase_order_reference == "PO-77"
    assert doc.sales_order_reference == "O-1"
    assert doc.seller.legal_name == "Invoice Worker Cloud B.V."
    assert doc.seller.vat_id == "NL820345003B01"
    assert doc.buyer == DUTCH_BUYER
    assert doc.buyer_reference == "AP-4711"


def test_each_billed_line_is_one_legal_line_with_its_service_period() -> None:
    doc = standard()

    first = doc.lines[0]
    assert [line.line_id for line in doc.lines] == ["L1", "L2", "L3"]
    assert (first.name, first.description) == ("Compute", "Order O-1")
    assert (first.quantity, first.unit_code, first.unit_price, first.net_amount) == (
        Decimal(1),
        "C62",
        Decimal("24000.00"),
        Decimal("24000.00"),
    )
    assert (first.period_start, first.period_end) == (date(2026, 2, 1), date(2026, 12, 31))
    assert (first.vat_category, first.vat_rate) == ("S", Decimal(21))
    assert doc.lines[2].vat_rate == Decimal(9)


def test_the_vat_breakdown_has_one_group_per_category_and_rate() -> None:
    doc = standard()

    assert doc.vat_breakdown == (
        VatBreakdown(taxable_amount=Decimal("46000.00"), tax_amount=Decimal("9660.00"), category="S", rate=Decimal(21)),
        VatBreakdown(taxable_amount=Decimal("1000.00"), tax_amount=Decimal("90.00"), category="S", rate=Decimal(9)),
    )


def test_the_documents_totals_are_the_invoices_to_the_cent() -> None:
    issued = standard_invoice()

    doc = document(issued, DUTCH_BUYER)

    assert doc.totals == DocumentTotals(
        line_net_total=issued.subtotal,
        total_without_vat=issued.subtotal,
        vat_total=issued.tax_total,
        total_with_vat=issued.total,
        paid=Decimal("0.00"),
        amount_due=issued.total,
    )
    assert issued.total == Decimal("56750.00")


def test_a_euro_invoice_is_paid_by_sepa_credit_transfer_quoting_the_invoice_number() -> None:
    # Given a Dutch invoice of EUR 56,750 (cards accepted in NL, under the card limit)
    doc = standard()
    # Then the transfer to the remittance account: one payment means type per document (UBL-SR-47,
    # CII-SR-467), the card staying in the PDF's payment guidance

    assert doc.payment_means == (
        PaymentMeans(
            type_code="58",
            remittance_information="INV-2026-000042",
            account_id="NL91ABNA0417164300",
            account_name="Invoice Worker Cloud B.V.",
            bank_id="ABNANL2A",
        ),
    )


def test_a_dollar_invoice_is_a_plain_credit_transfer_to_the_dollar_account() -> None:
    doc = outside_scope()

    means = doc.payment_means[0]
    assert (means.type_code, means.account_id, means.remittance_information) == (
        "30",
        "NL20ABNA0417164301",
        "INV-2026-000042",
    )


def test_a_small_invoice_in_a_card_country_is_paid_by_card_only() -> None:
    # Given an invoice under USD 2,000 booked in the US (the card is the only method there)
    issued = invoice(line("L1", "Compute", "500.00", "0", currency="USD"), country="US", currency="USD")
    # When its document is built
    doc = document(issued, AMERICAN_BUYER)
    # Then the only payment means is the card, quoting the invoice number
    assert doc.payment_means == (PaymentMeans(type_code="48", remittance_information="INV-2026-000042"),)


def test_an_invoice_without_po_number_has_no_purchase_order_reference() -> None:
    doc = document(replace(standard_invoice(), po_number=None), DUTCH_BUYER)

    assert doc.purchase_order_reference is None
    assert check(doc) == []


def test_a_buyer_without_an_address_is_addressed_by_the_accounts_country() -> None:
    doc = document(standard_invoice(), Buyer(legal_name="Acme B.V.", address=None))

    assert doc.buyer.address == Address(lines=(), city=None, country="NL")
    assert check(doc) == []


def test_cross_border_eu_at_zero_is_reverse_charge_with_its_reason() -> None:
    doc = reverse_charge()

    assert [(line.vat_category, line.vat_rate) for line in doc.lines] == [("AE", Decimal(0))]
    assert doc.vat_breakdown == (
        VatBreakdown(
            taxable_amount=Decimal("24000.00"),
            tax_amount=Decimal("0.00"),
            category="AE",
            rate=Decimal(0),
            exemption_reason="Reverse charge",
            exemption_reason_code="VATEX-EU-AE",
        ),
    )
    assert doc.buyer.vat_id == GERMAN_BUYER.vat_id


def test_a_buyer_outside_the_eu_is_not_subject_to_vat_and_has_no_rate() -> None:
    doc = outside_scope()

    assert [(line.vat_category, line.vat_rate) for line in doc.lines] == [("O", None)]
    assert (doc.vat_breakdown[0].rate, doc.vat_breakdown[0].exemption_reason_code) == (None, "VATEX-EU-O")


def test_a_yen_invoice_is_checked_in_whole_yen() -> None:
    # Given the README's worked example: JPY 250,001 a quarter at 10 %
    issued = invoice(line("L1", "Compute", "250001", "0.10", currency="JPY"), country="JP", currency="JPY")
    # When its document is built
    doc = document(issued, Buyer("Example K.K.", Address(("1-1 Otemachi",), "Tokyo", "JP")))
    # Then the tax is whole yen and every rule holds
    assert (doc.totals.vat_total, doc.totals.total_with_vat) == (Decimal(25000), Decimal(250001 + 25000))
    assert check(doc) == []


def test_per_line_tax_rounding_that_disagrees_with_the_per_rate_rounding_still_passes_the_rules() -> None:
    # Given two lines of EUR 0.07 at 21 %: each line's tax rounds to 0.01 (0.0147), the rate's to 0.03
    issued = invoice(line("L1", "A", "0.07", "0.21"), line("L2", "B", "0.07", "0.21"))
    # When its document is built
    doc = document(issued, DUTCH_BUYER)
    # Then it says what the invoice charged (the email's total), within BR-CO-17's tolerance
    assert doc.totals.total_with_vat == issued.total == Decimal("0.16")
    assert check(doc) == []


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)
rates = st.sampled_from(["0", "0.05", "0.09", "0.19", "0.21", "0.255"])


@given(st.lists(st.tuples(amounts, rates), min_size=1, max_size=6))
def test_the_sum_rules_hold_for_any_invoice_and_the_totals_are_the_invoices(rows: list[tuple[Decimal, str]]) -> None:
    # Given any invoice of rounded line amounts at the usual rates
    issued = invoice(*(line(f"L{i}", "Service", str(amount), rate) for i, (amount, rate) in enumerate(rows)))
    # When its document is built
    doc = document(issued, DUTCH_BUYER)
    # Then BR-CO-10..16 and the decimals rules hold, and the total is the email's
    assert check(doc) == []
    assert doc.totals.amount_due == issued.total


@pytest.mark.parametrize("country", sorted(countries()))
def test_every_booking_country_builds_a_document_that_breaks_no_rule(country: str) -> None:
    # Given a domestic invoice in the country's own currency, sold by its selling entity
    currency = countries()[country]["currency"]
    issued = invoice(line("L1", "Compute", "12000", "0.10", currency=currency), country=country, currency=currency)
    # When its document is built
    doc = document(issued, Buyer("Example Ltd", Address(("1 Main Street",), "Capital", country)))
    # Then every rule holds and the document's total is the invoice's; but EN 16931 allows
    # amounts of two decimals only (BR-DEC-*), so a currency of thousandths (KWD, BHD, OMR,
    # JOD) breaks those alone, and such a country sends the PDF alone (no e-invoice to check)
    if minor_unit_digits(currency) > 2:
        assert {v.rule_id.split("-")[1] for v in check(doc)} == {"DEC"}
        assert einvoice_policy(country) == "none"
    else:
        assert check(doc) == []
    assert doc.totals.amount_due == issued.total


def test_an_invoice_outside_the_scope_of_vat_names_no_vat_id() -> None:
    # Given an EU seller's 0 % invoice to an American buyer (category O)
    doc = outside_scope()
    # Then neither party's VAT id is on it (BR-O-02); the seller is named by its registration
    assert doc.seller.vat_id is None and doc.buyer.vat_id is None
    assert doc.seller.company_registration
