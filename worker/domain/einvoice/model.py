"""The EN 16931 semantic model of an invoice, as frozen values (EN 16931-1:2017, with its BT/BG ids).

Only the business terms the worker fills are modelled. Amounts are `Decimal`s already rounded to the
currency's minor unit by `worker.domain.money.round_money`; VAT rates are percentages (21 for 21 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

#: BT-24 of a plain EN 16931 invoice; a syntax or CIUS (Peppol BIS, XRechnung) states its own.
EN16931_SPECIFICATION = "urn:cen.eu:en16931:2017"
#: BT-24 of Peppol BIS Billing 3.0 and of XRechnung 3.0 (their CIUS of EN 16931).
PEPPOL_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
XRECHNUNG_SPECIFICATION = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
#: BT-23 of Peppol BIS Billing 3.0 (the business process: billing).
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
_SPECIFICATIONS = {"ubl": PEPPOL_SPECIFICATION, "xrechnung": XRECHNUNG_SPECIFICATION}


def specification_for(einvoice: str) -> str:
    """BT-24 of an invoice sent with e-invoice format `einvoice` (Factur-X and the PDF alone state
    plain EN 16931; Factur-X's EN 16931 profile is exactly that guideline id)."""
    return _SPECIFICATIONS.get(einvoice, EN16931_SPECIFICATION)


#: BT-3 (UNTDID 1001): a commercial invoice.
COMMERCIAL_INVOICE = "380"
#: BT-3 (UNTDID 1001): a credit note (its amounts are positive: the document type credits them).
CREDIT_NOTE = "381"
#: BT-130 (UN/ECE Recommendation 20): "one", a line bills one service period.
UNIT_ONE = "C62"


@dataclass(frozen=True)
class Address:  # BG-5 seller / BG-8 buyer postal address
    lines: tuple[str, ...]  # BT-35, BT-36, BT-162 / BT-50, BT-51, BT-163 (up to 3)
    city: str | None  # BT-37 / BT-52
    country: str  # BT-40 / BT-55, ISO 3166-1 alpha-2
    postal_code: str | None = None  # BT-38 / BT-53
    region: str | None = None  # BT-39 / BT-54


@dataclass(frozen=True)
class ElectronicAddress:  # BT-34 seller / BT-49 buyer, e.g. a Peppol participant id
    scheme: str  # the scheme identifier (EAS code list), e.g. "0208"
    identifier: str


@dataclass(frozen=True)
class SellerContact:  # BG-6
    name: str  # BT-41
    phone: str  # BT-42
    email: str  # BT-43


@dataclass(frozen=True)
class Seller:  # BG-4, one per selling entity (booking country): worker/data/sellers.json
    legal_name: str  # BT-27
    address: Address  # BG-5
    vat_id: str | None  # BT-31, with its ISO 3166 prefix
    company_registration: str | None  # BT-30 seller legal registration identifier
    tax_registration_id: str | None = None  # BT-32, a local tax number where there is no VAT id
    electronic_address: ElectronicAddress | None = None  # BT-34
    contact: SellerContact | None = None  # BG-6


@dataclass(frozen=True)
class Buyer:  # BG-7, from the account (`account.updated`'s optional document fields)
    legal_name: str  # BT-44
    address: Address | None  # BG-8 (BR-10 requires it: an account without one gets its country only)
    vat_id: str | None = None  # BT-48
    buyer_reference: str | None = None  # BT-10 (document level), e.g. a German Leitweg-ID
    electronic_address: ElectronicAddress | None = None  # BT-49


@dataclass(frozen=True)
class LegalLine:  # BG-25
    line_id: str  # BT-126
    name: str  # BT-153 item name
    description: str  # BT-154 item description (names the order: DOMAIN.md section 1)
    quantity: Decimal  # BT-129
    unit_code: str  # BT-130
    unit_price: Decimal  # BT-146 item net price
    net_amount: Decimal  # BT-131
    period_start: date  # BT-134
    period_end: date  # BT-135
    vat_category: str  # BT-151 (UNTDID 5305: S, Z, E, AE, O, ...)
    vat_rate: Decimal | None  # BT-152 in percent; None for O (BR-O-05)
    order_id: str = ""  # the order the line bills (in BT-154's words, for the PDF to translate)


@dataclass(frozen=True)
class VatBreakdown:  # BG-23, one per (category, rate)
    taxable_amount: Decimal  # BT-116
    tax_amount: Decimal  # BT-117
    category: str  # BT-118
    rate: Decimal | None  # BT-119 in percent; None for O
    exemption_reason: str | None = None  # BT-120
    exemption_reason_code: str | None = None  # BT-121 (VATEX code list)


@dataclass(frozen=True)
class DocumentTotals:  # BG-22
    line_net_total: Decimal  # BT-106
    total_without_vat: Decimal  # BT-109
    vat_total: Decimal  # BT-110
    total_with_vat: Decimal  # BT-112
    paid: Decimal  # BT-113
    amount_due: Decimal  # BT-115


@dataclass(frozen=True)
class PaymentMeans:  # BG-16
    type_code: str  # BT-81 (UNTDID 4461): 58 SEPA credit transfer, 30 credit transfer, 48 bank card
    remittance_information: str  # BT-83: the invoice number, to quote with the payment
    account_id: str | None = None  # BT-84: IBAN, or the local account number (BG-17)
    account_name: str | None = None  # BT-85
    bank_id: str | None = None  # BT-86: BIC / SWIFT


@dataclass(frozen=True)
class LegalInvoice:
    specification_id: str  # BT-24
    number: str  # BT-1
    issue_date: date  # BT-2
    type_code: str  # BT-3
    currency: str  # BT-5
    due_date: date | None  # BT-9
    payment_terms: str | None  # BT-20
    purchase_order_reference: str | None  # BT-13: the PO number, or none
    sales_order_reference: str | None  # BT-14: the order number
    seller: Seller  # BG-4
    buyer: Buyer  # BG-7
    lines: tuple[LegalLine, ...]  # BG-25
    vat_breakdown: tuple[VatBreakdown, ...]  # BG-23
    totals: DocumentTotals  # BG-22
    payment_means: tuple[PaymentMeans, ...]  # BG-16
    preceding_invoice: str | None = None  # BT-25: the invoice a credit note credits

    @property
    def is_credit_note(self) -> bool:
        return self.type_code == CREDIT_NOTE

    @property
    def buyer_reference(self) -> str | None:  # BT-10
        return self.buyer.buyer_reference
