"""Frozen value types the pure core works on and the adapters pass around."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

#: Reference printed on an invoice whose order carried no purchase-order number: it confirms
#: that issuing a PO is not the customer's standard process (DOMAIN.md section 1).
NO_PO_REFERENCE = "POEF-1"


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    locale: str | None = None


@dataclass(frozen=True)
class Address:
    """A postal address as an invoice prints it (EN 16931 BG-8 for the buyer)."""

    #: One to three lines before the city (BT-50, BT-51, BT-163).
    lines: tuple[str, ...]
    city: str
    #: ISO 3166-1 alpha-2.
    country: str
    postal_code: str | None = None
    region: str | None = None


#: What an account may ask for as its e-invoice (`account.updated`'s `einvoice`): `auto` is its
#: country's policy (`worker/domain/einvoice/policy.py`).
EINVOICE_CHOICES = ("auto", "facturx", "ubl", "xrechnung", "none")


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    country: str
    sector: str
    ula: bool = False
    pay_as_you_go: bool = False
    dunning: Contact | None = None
    account_relationship: Contact | None = None
    #: The name the invoice document gives the buyer (BT-44); "" is `name`, and becomes it.
    legal_name: str = ""
    address: Address | None = None
    #: With its country prefix, check digits verified by the contract (BT-48).
    vat_id: str | None = None
    #: The buyer's reference for routing the invoice, e.g. a German Leitweg-ID (BT-10).
    buyer_reference: str | None = None
    #: `<ISO 6523 ICD>:<id>`, the buyer's Peppol electronic address (BT-49).
    peppol_id: str | None = None
    #: One of `EINVOICE_CHOICES`.
    einvoice: str = "auto"

    def __post_init__(self) -> None:
        # An account stored before legal names existed, or sent without one, reads as its name.
        if not self.legal_name:
            object.__setattr__(self, "legal_name", self.name)


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    product: str
    kind: str
    tax_rate: Decimal
    annual_amount: Decimal | None = None
    total_contract_value: Decimal | None = None
    term_months: int | None = None


@dataclass(frozen=True)
class Order:
    order_id: str
    account_id: str
    subscription_id: str
    billing_contact: Contact
    po_number: str | None
    payment_method: str
    currency: str
    billing_frequency: str
    term_start: date
    term_end: date
    lines: tuple[OrderLine, ...]

    def line(self, line_id: str) -> OrderLine | None:
        return next((line for line in self.lines if line.line_id == line_id), None)


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str
    order_id: str
    product: str
    kind: str
    period_start: date
    period_end: date
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    #: A usage line's metered quantity, its unit (`OCPU-hour`) and unit price; None otherwise.
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


@dataclass(frozen=True)
class Invoice:
    number: str
    order_id: str
    account_id: str
    subscription_id: str
    currency: str
    issued_on: date
    due_on: date
    po_number: str | None
    lines: tuple[InvoiceLine, ...]
    billing_contact: Contact
    account_name: str = ""
    country: str | None = None
    payment_method: str = "invoice"
    #: Why this invoice is separate from the order's others ("" for the ordinary case).
    split_reason: str = ""
    #: A credit note: the number of the invoice it cancels (its amounts are that invoice's,
    #: credited), and why; None for an invoice.
    credits: str | None = None
    credit_reason: str = ""
    #: An invoice that replaces a credited one (re-invoiced after a valid dispute): its number.
    replaces: str | None = None

    @property
    def reference(self) -> str:
        return self.po_number or NO_PO_REFERENCE

    # Cached: a frozen invoice's sums do not change, and an email reads them several times.
    @cached_property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @cached_property
    def tax_total(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal(0))

    @cached_property
    def total(self) -> Decimal:
        return self.subtotal + self.tax_total


@dataclass(frozen=True)
class Recipients:
    to: tuple[Contact, ...]
    cc: tuple[Contact, ...] = field(default_factory=tuple)

    @property
    def envelope(self) -> tuple[str, ...]:
        return tuple(c.email for c in (*self.to, *self.cc))


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email: the invoice's PDF, its e-invoice XML."""

    filename: str
    content_type: str  # e.g. "application/pdf", "application/xml"
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class RenderedEmail:
    kind: str
    locale: str
    subject: str
    text: str
    html: str
    #: `html` in the pieces its template wrote, fixed markup apart from the values between: the
    #: MIME builder encodes a fixed piece once rather than once per email. Empty when not known.
    html_parts: tuple[str, ...] = field(default=(), compare=False, repr=False)
