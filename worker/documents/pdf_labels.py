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
    "credited_invoice": N_("Credited invoice"),
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
    "branch": N_("Branch"),
    "transit_number": N_("Transit number"),
    "bsb": N_("BSB"),
    "account_type": N_("Account type"),
    "account_number": N_("Account number"),
    "clabe": N_("CLABE"),
    "cbu": N_("CBU"),
    "routing_number": N_("ACH routing number"),
    "sort_code": N_("Sort code"),
    "ifsc": N_("IFSC"),
    "cheque_address": N_("Cheques to"),
}

#: The kinds of bank account (worker.domain.payments.ACCOUNT_TYPES), as the email names them.
ACCOUNT_TYPES = {"ordinary": N_("Ordinary deposit"), "current": N_("Current deposit")}

#: The payment guidance, in the email's words: the terms' singular and plural msgids (not marked
#: here: extraction takes them, as one plural message, from the invoice template's ngettext call).
PAYMENT_TERMS = (
    "Payment terms: net %(days)s day from the invoice date. Please pay by %(due_date)s.",
    "Payment terms: net %(days)s days from the invoice date. Please pay by %(due_date)s.",
)
CARD_ONLY = N_(
    "For an invoice of this amount the credit card is the only accepted payment method. Pay it in the"
    " customer portal and quote the invoice number %(number)s."
)
#: The offline methods (PaymentOptions.transfer_methods): ACH and cheque only where the data has them.
BANK_TRANSFER = {
    "bank": N_(
        "Pay by bank transfer to the remittance details on the invoice. Always quote the invoice"
        " number %(number)s with your payment."
    ),
    "bank_ach": N_(
        "Pay by bank transfer or ACH to the remittance details on the invoice. Always quote the"
        " invoice number %(number)s with your payment."
    ),
    "bank_cheque": N_(
        "Pay by bank transfer to the remittance details on the invoice, or send a cheque to the"
        " address given there. Always quote the invoice number %(number)s with your payment."
    ),
    "bank_ach_cheque": N_(
        "Pay by bank transfer or ACH to the remittance details on the invoice, or send a cheque"
        " to the address given there. Always quote the invoice number %(number)s with your"
        " payment."
    ),
}
COPY_SUBJECT = N_("Copy: %(subject)s")
#: A credit note's title (its number), in the email's words.
CREDIT_NOTE_TITLE = N_("Credit note %(number)s")
