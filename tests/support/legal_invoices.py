"""Invoices and their legal (EN 16931) documents for the e-invoice tests: each correct, to be broken
one term at a time with `dataclasses.replace`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from worker.data.countries import invoice_payment_options
from worker.data.sellers import issuing_seller
from worker.domain.einvoice.build import legal_invoice
from worker.domain.einvoice.model import Address, Buyer, ElectronicAddress, LegalInvoice
from worker.domain.model import Contact, Invoice, InvoiceLine
from worker.domain.money import round_money

#: A Dutch buyer (the sellers' VAT ids are placeholders, so are these: valid check digits only).
DUTCH_BUYER = Buyer(
    legal_name="Acme B.V.",
    address=Address(lines=("Stationsplein 1",), city="Utrecht", country="NL", postal_code="3511 ED"),
    vat_id="NL820345015B01",
    buyer_reference="AP-4711",
    electronic_address=ElectronicAddress("0106", "12345678"),
)
GERMAN_BUYER = Buyer(
    legal_name="Beispiel GmbH",
    address=Address(lines=("Hauptstraße 1",), city="München", country="DE", postal_code="80331"),
    vat_id="DE136695976",
    buyer_reference="04011000-12345-34",
)
AMERICAN_BUYER = Buyer(
    legal_name="Example Corp.",
    address=Address(lines=("1 Main Street",), city="Boston", country="US", postal_code="02108", region="MA"),
)


def line(line_id: str, product: str, amount: str, rate: str, *, currency: str = "EUR") -> InvoiceLine:
    """An invoice line of the 2026 term, taxed as `billing.priced_line` taxes it."""
    value = Decimal(amount)
    return InvoiceLine(
        line_id=line_id,
        order_id="O-1",
        product=product,
        kind="saas",
        period_start=date(2026, 2, 1),
        period_end=date(2026, 12, 31),
        amount=value,
        tax_rate=Decimal(rate),
        tax=round_money(value * Decimal(rate), currency),
    )


def invoice(
    *lines: InvoiceLine, country: str = "NL", currency: str = "EUR", po_number: str | None = "PO-77"
) -> Invoice:
    return Invoice(
        number="INV-2026-000042",
        order_id="O-1",
        account_id="A-100",
        subscription_id="S-1",
        currency=currency,
        issued_on=date(2026, 2, 1),
        due_on=date(2026, 3, 3),
        po_number=po_number,
        lines=lines,
        billing_contact=Contact("Els de Vries", "els@acme.example"),
        account_name="Acme B.V.",
        country=country,
    )


def document(issued: Invoice, buyer: Buyer) -> LegalInvoice:
    """The legal invoice of `issued` with the booking country's seller and the email's payment options."""
    return legal_invoice(
        issued, buyer=buyer, seller=issuing_seller(issued.country), payment=invoice_payment_options(issued)
    )


def standard_invoice() -> Invoice:
    """Domestic NL, two rates: 21 % (two lines) and 9 %."""
    return invoice(
        line("L1", "Compute", "24000.00", "0.21"),
        line("L2", "Fusion ERP", "22000.00", "0.21"),
        line("L3", "Training", "1000.00", "0.09"),
    )


def standard() -> LegalInvoice:
    return document(standard_invoice(), DUTCH_BUYER)


def reverse_charge() -> LegalInvoice:
    """NL seller, German business buyer with a VAT id, 0 %: AE."""
    return document(invoice(line("L1", "Compute", "24000.00", "0")), GERMAN_BUYER)


def outside_scope() -> LegalInvoice:
    """NL seller, US buyer, 0 %: O."""
    return document(invoice(line("L1", "Compute", "24000.00", "0"), currency="USD"), AMERICAN_BUYER)


def zero_rated() -> LegalInvoice:
    """Domestic NL at 0 %: Z."""
    return document(invoice(line("L1", "Compute", "24000.00", "0")), DUTCH_BUYER)
