"""The legal invoice as OASIS UBL 2.1 Invoice XML (a credit note as UBL 2.1 CreditNote), for
Peppol BIS Billing 3.0 or XRechnung 3.0.

The CIUS changes only BT-24 (`specification_for`, set when the legal invoice is built) and, for
Peppol, the profile (BT-23). Elements follow the UBL 2.1 Invoice XSD's sequences
(`worker.documents.schemas` checks every document against it). Deterministic bytes.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Literal

from lxml import etree
from lxml.etree import _Element

from worker.documents.xml_values import amount, rate, sub_element
from worker.domain.einvoice.model import (
    PEPPOL_PROFILE,
    Address,
    ElectronicAddress,
    LegalInvoice,
    LegalLine,
    SellerContact,
    VatBreakdown,
)
from worker.domain.einvoice.vat_categories import NOT_SUBJECT_TO_VAT

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_URIS = {"cac": CAC, "cbc": CBC}
#: BT-13's UBL element is required when there is a sales order reference (BT-14) but no PO.
NO_PURCHASE_ORDER = "NA"

Cius = Literal["peppol", "xrechnung"]


_el = partial(sub_element, _URIS)


def ubl_xml(doc: LegalInvoice, *, cius: Cius) -> bytes:
    """The UBL Invoice of `doc` (its CreditNote for a credit note), UTF-8 with its declaration."""
    currency = doc.currency
    # A credit note is another UBL document: its own root, type code and line elements.
    document, namespace = ("CreditNote", CREDIT_NOTE) if doc.is_credit_note else ("Invoice", INVOICE)
    root = etree.Element(f"{{{namespace}}}{document}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    _el(root, "cbc:CustomizationID", doc.specification_id)
    _el(root, "cbc:ProfileID", PEPPOL_PROFILE)
    _el(root, "cbc:ID", doc.number)
    _el(root, "cbc:IssueDate", doc.issue_date.isoformat())
    if doc.due_date:
        _el(root, "cbc:DueDate", doc.due_date.isoformat())
    _el(root, f"cbc:{document}TypeCode", doc.type_code)
    _el(root, "cbc:DocumentCurrencyCode", currency)
    if doc.buyer_reference:
        _el(root, "cbc:BuyerReference", doc.buyer_reference)
    if doc.purchase_order_reference or doc.sales_order_reference:
        order = _el(root, "cac:OrderReference")
        _el(order, "cbc:ID", doc.purchase_order_reference or NO_PURCHASE_ORDER)
        if doc.sales_order_reference:
            _el(order, "cbc:SalesOrderID", doc.sales_order_reference)
    if doc.preceding_invoice:  # BG-3 / BT-25: the invoice a credit note credits
        _el(_el(_el(root, "cac:BillingReference"), "cac:InvoiceDocumentReference"), "cbc:ID", doc.preceding_invoice)
    seller, buyer = doc.seller, doc.buyer
    _party(
        _el(root, "cac:AccountingSupplierParty"),
        name=seller.legal_name,
        address=seller.address,
        electronic_address=seller.electronic_address,
        vat_id=seller.vat_id,
        tax_number=seller.tax_registration_id,
        registration=seller.company_registration,
        contact=seller.contact,
    )
    _party(
        _el(root, "cac:AccountingCustomerParty"),
        name=buyer.legal_name,
        address=buyer.address,
        electronic_address=buyer.electronic_address,
        vat_id=buyer.vat_id,
    )
    for means in doc.payment_means:
        element = _el(root, "cac:PaymentMeans")
        _el(element, "cbc:PaymentMeansCode", means.type_code)
        _el(element, "cbc:PaymentID", means.remittance_information)
        if means.account_id:
            account = _el(element, "cac:PayeeFinancialAccount")
            _el(account, "cbc:ID", means.account_id)
            if means.account_name:
                _el(account, "cbc:Name", means.account_name)
            if means.bank_id:
                _el(_el(account, "cac:FinancialInstitutionBranch"), "cbc:ID", means.bank_id)
    if doc.payment_terms:
        _el(_el(root, "cac:PaymentTerms"), "cbc:Note", doc.payment_terms)
    tax_total = _el(root, "cac:TaxTotal")
    _el(tax_total, "cbc:TaxAmount", amount(doc.totals.vat_total, currency), currencyID=currency)
    for group in doc.vat_breakdown:
        _subtotal(tax_total, group, currency)
    totals = doc.totals
    monetary = _el(root, "cac:LegalMonetaryTotal")
    for tag, value in (
        ("cbc:LineExtensionAmount", totals.line_net_total),
        ("cbc:TaxExclusiveAmount", totals.total_without_vat),
        ("cbc:TaxInclusiveAmount", totals.total_with_vat),
        ("cbc:PrepaidAmount", totals.paid),
        ("cbc:PayableAmount", totals.amount_due),
    ):
        _el(monetary, tag, amount(value, currency), currencyID=currency)
    for line in doc.lines:
        _line(root, line, currency, credit_note=doc.is_credit_note)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _endpoint(party: _Element, address: ElectronicAddress | None) -> None:
    if address is not None:
        _el(party, "cbc:EndpointID", address.identifier, schemeID=address.scheme)


def _postal(party: _Element, address: Address | None) -> None:
    if address is None:
        return
    postal = _el(party, "cac:PostalAddress")
    lines = list(address.lines)
    if lines:
        _el(postal, "cbc:StreetName", lines[0])
    if len(lines) > 1:
        _el(postal, "cbc:AdditionalStreetName", lines[1])
    if address.city:
        _el(postal, "cbc:CityName", address.city)
    if address.postal_code:
        _el(postal, "cbc:PostalZone", address.postal_code)
    if address.region:
        _el(postal, "cbc:CountrySubentity", address.region)
    if len(lines) > 2:
        _el(_el(postal, "cac:AddressLine"), "cbc:Line", lines[2])
    _el(_el(postal, "cac:Country"), "cbc:IdentificationCode", address.country)


def _tax_scheme(party: _Element, company_id: str, scheme: str) -> None:
    tax = _el(party, "cac:PartyTaxScheme")
    _el(tax, "cbc:CompanyID", company_id)
    _el(_el(tax, "cac:TaxScheme"), "cbc:ID", scheme)


def _party(
    parent: _Element,
    *,
    name: str,
    address: Address | None,
    electronic_address: ElectronicAddress | None,
    vat_id: str | None,
    tax_number: str | None = None,
    registration: str | None = None,
    contact: SellerContact | None = None,
) -> None:
    party = _el(parent, "cac:Party")
    _endpoint(party, electronic_address)
    _postal(party, address)
    if vat_id:
        _tax_scheme(party, vat_id, "VAT")
    if tax_number:
        # BT-32: a tax number under a scheme other than VAT.
        _tax_scheme(party, tax_number, "TAX")
    legal = _el(party, "cac:PartyLegalEntity")
    _el(legal, "cbc:RegistrationName", name)
    if registration:
        _el(legal, "cbc:CompanyID", registration)
    if contact is not None:
        element = _el(party, "cac:Contact")
        _el(element, "cbc:Name", contact.name)
        _el(element, "cbc:Telephone", contact.phone)
        _el(element, "cbc:ElectronicMail", contact.email)


def _category(
    parent: _Element, tag: str, code: str, vat_rate: Decimal | None, *, reason: tuple[str | None, str | None]
) -> None:
    category = _el(parent, tag)
    _el(category, "cbc:ID", code)
    if vat_rate is not None and code != NOT_SUBJECT_TO_VAT:
        _el(category, "cbc:Percent", rate(vat_rate))
    text, reason_code = reason
    if reason_code:
        _el(category, "cbc:TaxExemptionReasonCode", reason_code)
    if text:
        _el(category, "cbc:TaxExemptionReason", text)
    _el(_el(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def _subtotal(parent: _Element, group: VatBreakdown, currency: str) -> None:
    subtotal = _el(parent, "cac:TaxSubtotal")
    _el(subtotal, "cbc:TaxableAmount", amount(group.taxable_amount, currency), currencyID=currency)
    _el(subtotal, "cbc:TaxAmount", amount(group.tax_amount, currency), currencyID=currency)
    reason = (group.exemption_reason, group.exemption_reason_code)
    _category(subtotal, "cac:TaxCategory", group.category, group.rate, reason=reason)


def _line(parent: _Element, line: LegalLine, currency: str, *, credit_note: bool) -> None:
    element = _el(parent, "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine")
    _el(element, "cbc:ID", line.line_id)
    _el(
        element,
        "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity",
        rate(line.quantity),
        unitCode=line.unit_code,
    )
    _el(element, "cbc:LineExtensionAmount", amount(line.net_amount, currency), currencyID=currency)
    period = _el(element, "cac:InvoicePeriod")
    _el(period, "cbc:StartDate", line.period_start.isoformat())
    _el(period, "cbc:EndDate", line.period_end.isoformat())
    item = _el(element, "cac:Item")
    _el(item, "cbc:Description", line.description)
    _el(item, "cbc:Name", line.name)
    _category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, reason=(None, None))
    _el(_el(element, "cac:Price"), "cbc:PriceAmount", amount(line.unit_price, currency), currencyID=currency)
