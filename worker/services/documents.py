"""An invoice's documents: decided, built, checked by the gate and kept, once per invoice.

The first time an invoice's email is built, its documents are: the e-invoice format the account
and its country ask for (`worker.domain.einvoice.policy`), the legal invoice (EN 16931) from the
invoice, the account and the booking country's seller, the e-invoice XML, the gate (the XML's
XSD and the EN 16931 and CIUS rules), then the PDF/A-3 (with the Factur-X XML inside it). They are
kept (`worker.store.documents`), so a retry, a re-sent copy and `document` use the same bytes.

A document that breaks a rule is never sent: `DocumentHeld` fails the delivery permanently with
the rule ids and texts, the hold is kept for `status`, and nothing else waits for it. Once the
data is fixed (an `account.updated` with the missing or corrected field), `resend --invoice N`
re-runs the held delivery, building the documents again from the data as it is then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from worker.data.countries import account_einvoice, invoice_payment_options
from worker.data.sellers import issuing_seller
from worker.documents.checks import check_einvoice
from worker.documents.einvoices import einvoice_xml
from worker.documents.invoice_pdf import invoice_pdf, invoice_thumbnail
from worker.domain.einvoice.build import legal_invoice
from worker.domain.einvoice.buyers import buyer_of, routed_for
from worker.domain.einvoice.model import LegalInvoice, specification_for
from worker.domain.einvoice.policy import FORMAT_NAMES, EinvoiceChoice
from worker.domain.einvoice.rules import Violation
from worker.domain.model import Account, Attachment, Invoice
from worker.domain.payments import PaymentOptions
from worker.emails.kinds import KINDS
from worker.errors import PermanentError
from worker.store.documents import PDF_TYPE, XML_TYPE, InvoiceDocuments
from worker.store.store import Store

log = logging.getLogger(__name__)


class DocumentHeld(PermanentError):
    """The invoice's e-invoice broke rules at the gate: nothing is sent until the data is fixed."""

    def __init__(self, number: str, einvoice: str, violations: list[Violation]) -> None:
        self.number = number
        self.einvoice = einvoice
        self.violations = violations
        rules = "; ".join(str(v) for v in violations)
        super().__init__(f"invoice {number}: {FORMAT_NAMES.get(einvoice, einvoice)} held by the gate: {rules}")

    def as_record(self, at: float) -> dict[str, Any]:
        return {
            "at": at,
            "einvoice": self.einvoice,
            "rules": [{"rule_id": v.rule_id, "text": v.text, "at": v.at, "detail": v.detail} for v in self.violations],
        }


def stand_in_account(invoice: Invoice) -> Account:
    """The account of an invoice whose account sent no `account.updated`: its name and country."""
    return Account(
        account_id=invoice.account_id,
        name=invoice.account_name or invoice.account_id,
        country=invoice.country or "",
        sector="",
    )


@dataclass(frozen=True)
class _Checked:
    """A legal invoice that passed the gate, with what its PDF is built from."""

    document: LegalInvoice
    choice: EinvoiceChoice
    payment: PaymentOptions
    xml: bytes | None


def _checked(invoice: Invoice, account: Account) -> _Checked:
    """Raises DocumentHeld: the e-invoice breaks rules (their ids in the error)."""
    choice = account_einvoice(account)
    payment = invoice_payment_options(invoice)
    buyer = routed_for(buyer_of(account), choice.format, po_number=invoice.po_number, order_id=invoice.order_id)
    document = legal_invoice(
        invoice,
        buyer=buyer,
        seller=issuing_seller(invoice.country),
        payment=payment,
        specification_id=specification_for(choice.format),
    )
    xml = einvoice_xml(document, choice.format)
    violations = check_einvoice(document, choice.format, xml)
    if violations:
        raise DocumentHeld(invoice.number, choice.format, violations)
    return _Checked(document, choice, payment, xml)


def _issued_at(invoice: Invoice) -> datetime:
    # The issue date, not the clock: the same invoice always builds the same bytes.
    return datetime.combine(invoice.issued_on, time(0), UTC)


def build_documents(invoice: Invoice, account: Account, *, locale: str) -> InvoiceDocuments:
    """The invoice's documents, checked by the gate. Pure apart from reading the data files.

    Raises:
      DocumentHeld: the e-invoice breaks rules (their ids in the error).
    """
    checked = _checked(invoice, account)
    return _documents(invoice, checked, locale)


def _documents(invoice: Invoice, checked: _Checked, locale: str) -> InvoiceDocuments:
    pdf = invoice_pdf(
        checked.document,
        locale=locale,
        payment=checked.payment,
        facturx_xml=checked.xml if checked.choice.format == "facturx" else None,
        created_at=_issued_at(invoice),
    )
    return InvoiceDocuments(
        einvoice=checked.choice.format,
        reason=checked.choice.reason,
        pdf=Attachment(f"{invoice.number}.pdf", PDF_TYPE, pdf),
        xml=None if checked.xml is None else Attachment(f"{invoice.number}.xml", XML_TYPE, checked.xml),
    )


async def invoice_documents(store: Store, invoice: Invoice, *, locale: str, now: float) -> InvoiceDocuments:
    """The invoice's documents as kept, built and kept first if they are not yet.

    Raises:
      DocumentHeld: the gate held them (the hold is recorded for `status`).
    """
    kept = await store.documents.load(invoice.number)
    if kept is not None:
        return kept
    # Dropped by retention: built again from what they were first built from, the same bytes.
    source = await store.documents.source(invoice.number)
    if source is not None:
        account, locale = source
    else:
        account = await store.orders.load_account(invoice.account_id) or stand_in_account(invoice)
    try:
        # In a thread: Typst releases the GIL while it lays the PDF out (~14 ms), so this worker's
        # event loop goes on sending other deliveries meanwhile.
        built = await asyncio.to_thread(build_documents, invoice, account, locale=locale)
    except DocumentHeld as held:
        await store.documents.hold(invoice.number, held.as_record(now))
        log.error("%s", held)
        raise
    return await store.documents.keep(invoice.number, built, account=account, locale=locale)


def preview_documents(
    kind: str, context: Mapping[str, Any], locale: str
) -> tuple[tuple[Attachment, ...], bytes | None]:
    """A kind's documents for `preview` (its fixture's invoice, addressed by its country), and
    a PNG of the PDF's page 1: nothing for a kind without documents."""
    if not KINDS[kind].documents:
        return (), None
    invoice: Invoice = context["invoice"]
    checked = _checked(invoice, stand_in_account(invoice))
    thumbnail = invoice_thumbnail(
        checked.document, locale=locale, payment=checked.payment, created_at=_issued_at(invoice)
    )
    return _documents(invoice, checked, locale).attachments, thumbnail
