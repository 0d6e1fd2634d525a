"""The invoice PDF's own labels, marked for extraction (`N_`): translated when the PDF is built,
with the email's catalogs. The PDF reuses the email's msgids where it says the same thing."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


LABELS = {
    "seller": N_("Seller"),
    "buyer": N_("Buyer"),
    "vat_id": N_("VAT ID"),
    "registration": N_("Registration"),
    "tax_number": N_("Tax number"),
    "order": N_("Order"),
    "buyer_reference": N_("Buyer reference"),
    "service_period": N_("Service period"),
    "quantity": N_("Quantity"),
    "unit_price": N_("Unit price"),
    "net_amount": N_("Net amount"),
    "tax_breakdown": N_("Tax breakdown"),
    "taxable_amount": N_("Taxable amount"),
    "paid": N_("Paid"),
    "payment_terms": N_("Payment terms"),
    "page": N_("Page %(page)s of %(pages)s"),
    # The email's own msgids:
    "invoice_date": N_("Invoice date"),
    "due_date": N_("Due date"),
    "purchase_order": N_("Purchase order"),
    "amount_due": N_("Amount due"),
    "subtotal": N_("Subtotal"),
    "tax": N_("Tax"),
    "tax_rate": N_("Tax rate"),
    "total": N_("Total"),
    "how_to_pay": N_("How to pay"),
    "remittance_details": N_("Remittance details"),
    "description": N_("Description"),
}

#: The exemption reasons (BT-120) as the PDF states them in the reader's language.
EXEMPTION_REASONS = {"AE": N_("Reverse charge"), "O": N_("Not subject to VAT")}

#: The remittance fields, as the email labels them (templates/email/invoice/body.txt).
REMITTANCE_LABELS = {
    "beneficiary": N_("Beneficiary"),
    "bank": N_("Bank"),
    "iban": N_("IBAN"),
    "bic": N_("BIC"),
    "swift": N_("SWIFT code"),
    "account_number": N_("Account number"),
    "routing_number": N_("ACH routing number"),
    "sort_code": N_("Sort code"),
    "ifsc": N_("IFSC"),
    "cheque_address": N_("Cheques to"),
}

#: The payment guidance, in the email's words.
PAYMENT_TERMS = N_("Payment terms: net %(days)s days. Please pay by %(due_date)s.")
CARD_ONLY = N_(
    "For an invoice of this amount the credit card is the only accepted payment method. Pay it in the"
    " customer portal and quote the invoice number %(number)s."
)
BANK_TRANSFER = N_(
    "Pay by bank transfer, wire transfer, ACH or cheque to the remittance details on the invoice. Always"
    " quote the invoice number %(number)s with your payment."
)
COPY_SUBJECT = N_("Copy: %(subject)s")
