"""The legal invoice (EN 16931) of an invoice the worker issued. Pure: every value is passed in.

Every amount comes out of `round_money`, the project's one rounding rule, and the document's sums
are sums of those rounded parts, as the invoice's own are: BT-131 is the line's rounded amount,
BT-117 the sum of the invoice's per-line taxes in that category and rate, BT-110 their sum, BT-112
= BT-109 + BT-110. So the document's total is the email's total to the cent, and BR-CO-10..16
hold exactly. Where the invoice's per-line tax rounding and EN 16931's per-rate rounding
(BR-CO-17) disagree (several lines at one rate, each rounded), the document says what the invoice
charged, within the one currency unit BR-CO-17 allows (as CEN's own Schematron does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from decimal import Decimal

from worker.domain.einvoice.model import (
    COMMERCIAL_INVOICE,
    CREDIT_NOTE,
    EN16931_SPECIFICATION,
    UNIT_ONE,
    Address,
    Buyer,
    DocumentTotals,
    LegalInvoice,
    LegalLine,
    PaymentMeans,
    Seller,
    VatBreakdown,
)
from worker.domain.einvoice.vat_categories import NOT_SUBJECT_TO_VAT, VatCategory, vat_category
from worker.domain.model import Invoice, InvoiceLine
from worker.domain.money import round_money
from worker.domain.payments import PaymentOptions

#: BT-81 payment means codes (UNTDID 4461).
SEPA_CREDIT_TRANSFER = "58"
CREDIT_TRANSFER = "30"
BANK_CARD = "48"


def legal_invoice(
    invoice: Invoice,
    *,
    buyer: Buyer,
    seller: Seller,
    payment: PaymentOptions,
    payment_terms: str | None = None,
    paid: Decimal = Decimal(0),
    specification_id: str = EN16931_SPECIFICATION,
) -> LegalInvoice:
    """The EN 16931 model of `invoice`, sold by `seller` to `buyer`, paid as `payment` says.

    `payment` is what the invoice email shows (`worker.domain.payments.payment_options`), so the
    document's payment means are the email's. `payment_terms` (BT-20) defaults to the net terms
    the due date implies; `paid` (BT-113) to nothing paid.
    """
    currency = invoice.currency
    credit_note = invoice.credits is not None
    buyer = _with_address(buyer, invoice.country or seller.address.country)
    assert buyer.address is not None  # _with_address gave it one
    seller_country, buyer_country = seller.address.country, buyer.address.country
    categories = [
        vat_category(rate=line.tax_rate, seller_country=seller_country, buyer_country=buyer_country)
        for line in invoice.lines
    ]
    lines = tuple(_line(line, category, currency) for line, category in zip(invoice.lines, categories, strict=True))
    if any(category.code == NOT_SUBJECT_TO_VAT for category in categories):
        # Outside the scope of VAT, the document names no VAT id (BR-O-02); the seller is still
        # identified by its registration (BT-30) or local tax number (BT-32).
        seller = replace(seller, vat_id=None)
        buyer = replace(buyer, vat_id=None)
    breakdown = _breakdown(zip(invoice.lines, lines, categories, strict=True), currency)
    line_net_total = round_money(sum((line.net_amount for line in lines), Decimal(0)), currency)
    vat_total = round_money(sum((group.tax_amount for group in breakdown), Decimal(0)), currency)
    total_with_vat = round_money(line_net_total + vat_total, currency)
    paid = round_money(paid, currency)
    return LegalInvoice(
        specification_id=specification_id,
        number=invoice.number,
        issue_date=invoice.issued_on,
        type_code=CREDIT_NOTE if credit_note else COMMERCIAL_INVOICE,
        currency=currency,
        # A credit note is not paid by the buyer: no due date and no payment means, its terms
        # say what it credits (BR-CO-25 asks for one of the two when an amount is due).
        due_date=None if credit_note else invoice.due_on,
        payment_terms=(
            f"Credit note for invoice {invoice.credits}"
            if credit_note
            else payment_terms
            if payment_terms is not None
            else net_terms(invoice.issued_on, invoice.due_on)
        ),
        purchase_order_reference=invoice.po_number or None,
        sales_order_reference=invoice.order_id,
        seller=seller,
        buyer=buyer,
        lines=lines,
        vat_breakdown=breakdown,
        totals=DocumentTotals(
            line_net_total=line_net_total,
            # No document level allowances or charges: the total without VAT is the lines' sum.
            total_without_vat=line_net_total,
            vat_total=vat_total,
            total_with_vat=total_with_vat,
            paid=paid,
            amount_due=round_money(total_with_vat - paid, currency),
        ),
        payment_means=() if credit_note else payment_means(payment, reference=invoice.number, currency=currency),
        preceding_invoice=invoice.credits,
    )


def net_terms(issued_on: date, due_on: date) -> str:
    """BT-20 for net terms: "Net 30 days"."""
    return f"Net {(due_on - issued_on).days} days"


def percent(rate: Decimal) -> Decimal:
    """A tax rate as EN 16931 states it: 0.21 -> 21, 0.0825 -> 8.25."""
    value = rate * 100
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def payment_means(payment: PaymentOptions, *, reference: str, currency: str) -> tuple[PaymentMeans, ...]:
    """BG-16 from the email's payment options: a credit transfer to the remittance account, a card."""
    means: list[PaymentMeans] = []
    details = dict(payment.remittance)
    account = details.get("iban") or details.get("account_number")
    if payment.bank_transfer and account:
        # 58 is SEPA's own code: euros to an IBAN. Any other transfer is a plain credit transfer.
        sepa = currency == "EUR" and "iban" in details
        means.append(
            PaymentMeans(
                type_code=SEPA_CREDIT_TRANSFER if sepa else CREDIT_TRANSFER,
                remittance_information=reference,
                account_id=account.replace(" ", ""),
                account_name=details.get("beneficiary"),
                bank_id=details.get("bic") or details.get("swift"),
            )
        )
    # One payment means type per document: both syntaxes refuse a mix (UBL-SR-47, CII-SR-467).
    # The transfer where the email offers one; the card, offered beside it, stays in the PDF's
    # payment guidance. A card-only invoice says 48.
    if payment.card and not means:
        means.append(PaymentMeans(type_code=BANK_CARD, remittance_information=reference))
    return tuple(means)


def _with_address(buyer: Buyer, country: str) -> Buyer:
    """The buyer with a postal address: an account that gave none is addressed by its country.

    BR-10 and BR-11 ask for the group and its country code; lines and city are optional in EN 16931.
    """
    if buyer.address is not None:
        return buyer
    return replace(buyer, address=Address(lines=(), city=None, country=country))


def _line(line: InvoiceLine, category: VatCategory, currency: str) -> LegalLine:
    net = round_money(line.amount, currency)
    return LegalLine(
        line_id=line.line_id,
        name=line.product,
        description=f"Order {line.order_id}",
        # One service period billed per line: quantity 1, the price is the line's amount.
        quantity=Decimal(1),
        unit_code=UNIT_ONE,
        unit_price=net,
        net_amount=net,
        period_start=line.period_start,
        period_end=line.period_end,
        vat_category=category.code,
        vat_rate=None if category.code == NOT_SUBJECT_TO_VAT else percent(line.tax_rate),
        order_id=line.order_id,
    )


def _breakdown(rows: Iterable[tuple[InvoiceLine, LegalLine, VatCategory]], currency: str) -> tuple[VatBreakdown, ...]:
    """BG-23: one group per (category, rate), in the order the lines first name them."""
    groups: dict[tuple[str, Decimal | None], list[tuple[InvoiceLine, LegalLine, VatCategory]]] = {}
    for row in rows:
        groups.setdefault((row[1].vat_category, row[1].vat_rate), []).append(row)
    breakdown = []
    for (code, rate), members in groups.items():
        category = members[0][2]
        breakdown.append(
            VatBreakdown(
                taxable_amount=round_money(sum((legal.net_amount for _, legal, _ in members), Decimal(0)), currency),
                tax_amount=round_money(sum((line.tax for line, _, _ in members), Decimal(0)), currency),
                category=code,
                rate=rate,
                exemption_reason=category.exemption_reason,
                exemption_reason_code=category.exemption_reason_code,
            )
        )
    return tuple(breakdown)
