"""The legal invoice as UN/CEFACT Cross Industry Invoice (CII D16B) XML: Factur-X's EN 16931
profile (guideline `urn:cen.eu:en16931:2017`), embedded in the PDF/A-3 as `factur-x.xml`.

Elements follow the Factur-X 1.0 EN 16931 XSD's sequences (`worker.documents.schemas` checks
every document against it). The bytes are deterministic: the same legal invoice, the same XML.
"""

from __future__ import annotations

from functools import partial

from lxml import etree
from lxml.etree import _Element

from worker.documents.xml_values import amount, basic_date, rate, sub_element
from worker.domain.einvoice.model import Address, ElectronicAddress, LegalInvoice, LegalLine, VatBreakdown
from worker.domain.einvoice.vat_categories import NOT_SUBJECT_TO_VAT

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}


_el = partial(sub_element, NAMESPACES)


def _date(parent: _Element, tag: str, value: object) -> None:
    _el(_el(parent, tag), "udt:DateTimeString", basic_date(value), format="102")  # type: ignore[arg-type]


def cii_xml(doc: LegalInvoice) -> bytes:
    """The CII XML of `doc`, UTF-8 with its declaration."""
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NAMESPACES)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", doc.specification_id)
    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", doc.number)
    _el(header, "ram:TypeCode", doc.type_code)
    _date(header, "ram:IssueDateTime", doc.issue_date)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for line in doc.lines:
        _line(transaction, line, doc.currency)
    _agreement(transaction, doc)
    _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _settlement(transaction, doc)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _line(parent: _Element, line: LegalLine, currency: str) -> None:
    item = _el(parent, "ram:IncludedSupplyChainTradeLineItem")
    _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.line_id)
    product = _el(item, "ram:SpecifiedTradeProduct")
    _el(product, "ram:Name", line.name)
    _el(product, "ram:Description", line.description)
    agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
    _el(_el(agreement, "ram:NetPriceProductTradePrice"), "ram:ChargeAmount", amount(line.unit_price, currency))
    delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
    _el(delivery, "ram:BilledQuantity", rate(line.quantity), unitCode=line.unit_code)
    settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
    tax = _el(settlement, "ram:ApplicableTradeTax")
    _el(tax, "ram:TypeCode", "VAT")
    _el(tax, "ram:CategoryCode", line.vat_category)
    if line.vat_rate is not None and line.vat_category != NOT_SUBJECT_TO_VAT:
        _el(tax, "ram:RateApplicablePercent", rate(line.vat_rate))
    period = _el(settlement, "ram:BillingSpecifiedPeriod")
    _date(period, "ram:StartDateTime", line.period_start)
    _date(period, "ram:EndDateTime", line.period_end)
    summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _el(summation, "ram:LineTotalAmount", amount(line.net_amount, currency))


def _party(
    parent: _Element,
    tag: str,
    *,
    name: str,
    registration: str | None,
    address: Address | None,
    electronic_address: ElectronicAddress | None,
    vat_id: str | None,
    tax_number: str | None = None,
) -> None:
    party = _el(parent, tag)
    _el(party, "ram:Name", name)
    if registration:
        _el(_el(party, "ram:SpecifiedLegalOrganization"), "ram:ID", registration)
    if address is not None:
        postal = _el(party, "ram:PostalTradeAddress")
        if address.postal_code:
            _el(postal, "ram:PostcodeCode", address.postal_code)
        for tag_name, text in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), address.lines, strict=False):
            _el(postal, tag_name, text)
        if address.city:
            _el(postal, "ram:CityName", address.city)
        _el(postal, "ram:CountryID", address.country)
        if address.region:
            _el(postal, "ram:CountrySubDivisionName", address.region)
    if electronic_address is not None:
        uri = _el(party, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", electronic_address.identifier, schemeID=electronic_address.scheme)
    if vat_id:
        _el(_el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")
    if tax_number:
        _el(_el(party, "ram:SpecifiedTaxRegistration"), "ram:ID", tax_number, schemeID="FC")


def _agreement(parent: _Element, doc: LegalInvoice) -> None:
    agreement = _el(parent, "ram:ApplicableHeaderTradeAgreement")
    if doc.buyer_reference:
        _el(agreement, "ram:BuyerReference", doc.buyer_reference)
    seller = doc.seller
    _party(
        agreement,
        "ram:SellerTradeParty",
        name=seller.legal_name,
        registration=seller.company_registration,
        address=seller.address,
        electronic_address=seller.electronic_address,
        vat_id=seller.vat_id,
        tax_number=seller.tax_registration_id,
    )
    buyer = doc.buyer
    _party(
        agreement,
        "ram:BuyerTradeParty",
        name=buyer.legal_name,
        registration=None,
        address=buyer.address,
        electronic_address=buyer.electronic_address,
        vat_id=buyer.vat_id,
    )
    if doc.sales_order_reference:
        _el(_el(agreement, "ram:SellerOrderReferencedDocument"), "ram:IssuerAssignedID", doc.sales_order_reference)
    if doc.purchase_order_reference:
        _el(_el(agreement, "ram:BuyerOrderReferencedDocument"), "ram:IssuerAssignedID", doc.purchase_order_reference)


def _settlement(parent: _Element, doc: LegalInvoice) -> None:
    currency = doc.currency
    settlement = _el(parent, "ram:ApplicableHeaderTradeSettlement")
    if doc.payment_means:
        _el(settlement, "ram:PaymentReference", doc.payment_means[0].remittance_information)
    _el(settlement, "ram:InvoiceCurrencyCode", currency)
    for means in doc.payment_means:
        element = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(element, "ram:TypeCode", means.type_code)
        if means.account_id:
            account = _el(element, "ram:PayeePartyCreditorFinancialAccount")
            iban = means.type_code == "58"
            if iban:
                _el(account, "ram:IBANID", means.account_id)
            if means.account_name:  # the XSD's order: IBANID, AccountName, ProprietaryID
                _el(account, "ram:AccountName", means.account_name)
            if not iban:
                _el(account, "ram:ProprietaryID", means.account_id)
        if means.bank_id:
            _el(_el(element, "ram:PayeeSpecifiedCreditorFinancialInstitution"), "ram:BICID", means.bank_id)
    for group in doc.vat_breakdown:
        _tax(settlement, group, currency)
    if doc.payment_terms or doc.due_date:
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        if doc.payment_terms:
            _el(terms, "ram:Description", doc.payment_terms)
        if doc.due_date:
            _date(terms, "ram:DueDateDateTime", doc.due_date)
    totals = doc.totals
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", amount(totals.line_net_total, currency))
    _el(summation, "ram:TaxBasisTotalAmount", amount(totals.total_without_vat, currency))
    _el(summation, "ram:TaxTotalAmount", amount(totals.vat_total, currency), currencyID=currency)
    _el(summation, "ram:GrandTotalAmount", amount(totals.total_with_vat, currency))
    _el(summation, "ram:TotalPrepaidAmount", amount(totals.paid, currency))
    _el(summation, "ram:DuePayableAmount", amount(totals.amount_due, currency))
    if doc.preceding_invoice:  # BG-3: the invoice a credit note credits
        _el(_el(settlement, "ram:InvoiceReferencedDocument"), "ram:IssuerAssignedID", doc.preceding_invoice)


def _tax(parent: _Element, group: VatBreakdown, currency: str) -> None:
    tax = _el(parent, "ram:ApplicableTradeTax")
    _el(tax, "ram:CalculatedAmount", amount(group.tax_amount, currency))
    _el(tax, "ram:TypeCode", "VAT")
    if group.exemption_reason:
        _el(tax, "ram:ExemptionReason", group.exemption_reason)
    _el(tax, "ram:BasisAmount", amount(group.taxable_amount, currency))
    _el(tax, "ram:CategoryCode", group.category)
    if group.exemption_reason_code:
        _el(tax, "ram:ExemptionReasonCode", group.exemption_reason_code)
    if group.rate is not None and group.category != NOT_SUBJECT_TO_VAT:
        _el(tax, "ram:RateApplicablePercent", rate(group.rate))
