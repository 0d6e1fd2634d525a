"""What the invoice PDF shows, as data: every label translated with the locale's catalog and
every amount, date and rate formatted by Babel in that locale exactly as the email formats them
(`worker.emails.rendering.locale_filters`). The Typst template only lays this out; it reads it
as JSON, so no value is ever markup.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from babel.support import NullTranslations

from worker.documents.pdf_labels import (
    ACCOUNT_TYPES,
    BANK_TRANSFER,
    CARD_ONLY,
    CREDIT_NOTE_TITLE,
    EXEMPTION_REASONS,
    LABELS,
    PAYMENT_TERMS,
    REMITTANCE_LABELS,
)
from worker.domain.einvoice.model import Address, LegalInvoice
from worker.domain.locales import babel_locale, catalog_language
from worker.domain.payments import PaymentOptions
from worker.emails.catalogs import load_translations
from worker.emails.rendering import COMPANY_NAME, locale_filters
from worker.resources import locales_dir

#: Countries whose paper is US Letter (CLDR's measurement data: the US, Canada, Mexico and a few
#: in the Americas and the Philippines); every other invoice is A4.
LETTER_COUNTRIES = frozenset({"US", "CA", "MX", "PR", "PH", "CL", "CO", "VE", "GT", "PA", "CR", "DO", "SV"})


@cache
def _translations(language: str) -> NullTranslations:
    return load_translations(locales_dir(), language)


@cache
def _filters(locale: str) -> dict[str, Any]:
    return locale_filters(locale)


def paper_for(country: str | None) -> str:
    """Typst's paper name for an invoice to `country`."""
    return "us-letter" if country in LETTER_COUNTRIES else "a4"


def _address_lines(address: Address | None, iso: Any) -> list[str]:
    if address is None:
        return []
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    return [iso(line) for line in (*address.lines, city, address.region or "", address.country) if line]


def pdf_content(doc: LegalInvoice, *, locale: str, payment: PaymentOptions) -> dict[str, Any]:
    """The PDF's content for `doc` in `locale` (a supported locale), JSON-able."""
    translations = _translations(catalog_language(locale))
    gettext = translations.gettext
    formats = _filters(locale)
    money, date_, percent = formats["money"], formats["date"], formats["percent"]
    currency = doc.currency

    def rate_text(rate: Decimal | None) -> str:
        return "" if rate is None else percent(rate / 100)

    labels = {key: gettext(message) for key, message in LABELS.items()}
    rtl = babel_locale(locale).character_order == "right-to-left"

    def iso(value: str) -> str:
        # In a right-to-left document a left-to-right value (a name, an address, an amount) is a
        # bidi isolate, so its punctuation and numbers stay where they belong ("B.V.", "1017 CB").
        return f"\u2068{value}\u2069" if rtl and value else value

    seller, buyer = doc.seller, doc.buyer
    buyer_country = buyer.address.country if buyer.address else seller.address.country
    facts = [(labels["invoice_date"], date_(doc.issue_date))]
    if doc.due_date:
        facts.append((labels["due_date"], date_(doc.due_date)))
    if doc.purchase_order_reference:
        facts.append((labels["purchase_order"], doc.purchase_order_reference))
    if doc.sales_order_reference:
        facts.append((labels["order"], doc.sales_order_reference))
    if doc.buyer_reference:
        facts.append((labels["buyer_reference"], doc.buyer_reference))
    if doc.preceding_invoice:
        facts.append((labels["credited_invoice"], doc.preceding_invoice))
    days = _days(doc)
    terms = translations.ngettext(*PAYMENT_TERMS, days)
    guidance = [terms % {"days": formats["number"](Decimal(days)), "due_date": _due(doc, date_)}]
    transfer = CARD_ONLY if payment.card_only else BANK_TRANSFER[payment.transfer_methods]
    guidance.append(gettext(transfer) % {"number": payment.reference})

    def remittance_value(name: str, value: str) -> str:
        return gettext(ACCOUNT_TYPES[value]) if name == "account_type" else iso(value)

    remittance = (
        []
        if payment.card_only
        else [[gettext(REMITTANCE_LABELS[k]), remittance_value(k, v)] for k, v in payment.remittance]
    )
    if doc.is_credit_note:  # nothing to pay: no terms, no bank details, no amount due
        guidance, remittance = [], []
    return {
        "lang": babel_locale(locale).language,
        # Typst takes an ISO 3166-1 alpha-2 region only: none for es-419 or en-001.
        "region": territory if (territory := babel_locale(locale).territory or "").isalpha() else "",
        "rtl": rtl,
        "paper": paper_for(buyer_country),
        "title": (gettext(CREDIT_NOTE_TITLE) if doc.is_credit_note else gettext("Invoice %(number)s"))
        % {"number": doc.number},
        "number": doc.number,
        "company": COMPANY_NAME,
        "labels": labels,
        "seller": {
            "name": iso(seller.legal_name),
            "address": _address_lines(seller.address, iso),
            "ids": [
                [label, iso(value)]
                for label, value in (
                    (labels["vat_id"], seller.vat_id),
                    (labels["tax_number"], seller.tax_registration_id),
                    (labels["registration"], seller.company_registration),
                )
                if value
            ],
        },
        "buyer": {
            "name": iso(buyer.legal_name),
            "address": _address_lines(buyer.address, iso),
            "ids": [[labels["vat_id"], iso(buyer.vat_id)]] if buyer.vat_id else [],
        },
        "facts": [[label, iso(value)] for label, value in facts],
        "lines": [
            {
                "name": iso(line.name),
                "description": f"{labels['order']} {iso(line.order_id)}" if line.order_id else iso(line.description),
                "period": iso(f"{date_(line.period_start, 'medium')} – {date_(line.period_end, 'medium')}"),
                "quantity": formats["number"](line.quantity),
                "unit_price": money(line.unit_price, currency),
                "rate": rate_text(line.vat_rate) or line.vat_category,
                "net": money(line.net_amount, currency),
            }
            for line in doc.lines
        ],
        "breakdown": [
            {
                "rate": rate_text(group.rate) or group.category,
                "taxable": money(group.taxable_amount, currency),
                "tax": money(group.tax_amount, currency),
                "reason": gettext(EXEMPTION_REASONS[group.category]) if group.category in EXEMPTION_REASONS else "",
            }
            for group in doc.vat_breakdown
        ],
        "totals": [
            [labels["subtotal"], money(doc.totals.total_without_vat, currency)],
            [labels["tax"], money(doc.totals.vat_total, currency)],
            [labels["total"], money(doc.totals.total_with_vat, currency)],
            *([[labels["paid"], money(doc.totals.paid, currency)]] if doc.totals.paid else []),
            *([] if doc.is_credit_note else [[labels["amount_due"], money(doc.totals.amount_due, currency)]]),
        ],
        "guidance": guidance,
        "remittance": remittance,
    }


def _days(doc: LegalInvoice) -> int:
    return (doc.due_date - doc.issue_date).days if doc.due_date else 0


def _due(doc: LegalInvoice, date_: Any) -> str:
    return str(date_(doc.due_date)) if doc.due_date else ""
