"""Example values from the contract (CONTRACT.md, "Examples") for tests to build on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from worker.domain.model import Contact, Invoice, InvoiceLine

#: The billing contact named on order O-1.
ELS = Contact(name="Els de Vries", email="els@acme.example", locale="nl-NL")


def compute_line(**overrides: Any) -> InvoiceLine:
    """The Compute line of invoice 1: 1 Jan - 31 Dec 2026, USD 24,000.00 + 21% tax."""
    line = InvoiceLine(
        line_id="L1",
        order_id="O-1",
        product="Compute",
        kind="paas",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        amount=Decimal("24000.00"),
        tax_rate=Decimal("0.21"),
        tax=Decimal("5040.00"),
    )
    return replace(line, **overrides)


def fusion_erp_line(**overrides: Any) -> InvoiceLine:
    """The co-termed Fusion ERP line of invoice 2: 1 Feb - 31 Dec 2026, USD 22,000.00 + 21% tax."""
    line = InvoiceLine(
        line_id="L2",
        order_id="O-1",
        product="Fusion ERP",
        kind="saas",
        period_start=date(2026, 2, 1),
        period_end=date(2026, 12, 31),
        amount=Decimal("22000.00"),
        tax_rate=Decimal("0.21"),
        tax=Decimal("4620.00"),
    )
    return replace(line, **overrides)


def contract_invoice(**overrides: Any) -> Invoice:
    """Invoice 2 of the contract example (Fusion ERP on order O-1), with ``overrides`` applied."""
    invoice = Invoice(
        number="INV-2026-000002",
        order_id="O-1",
        account_id="A-100",
        subscription_id="S-1",
        currency="USD",
        issued_on=date(2026, 2, 1),
        due_on=date(2026, 3, 3),
        po_number="PO-77",
        lines=(fusion_erp_line(),),
        billing_contact=ELS,
        account_name="Acme B.V.",
        country="NL",
        payment_method="invoice",
    )
    return replace(invoice, **overrides)
