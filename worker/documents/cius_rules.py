"""The CIUS rules (Peppol BIS Billing 3.0, XRechnung 3.0) the worker's e-invoices exercise,
checked on the legal invoice, each with its official id and text. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from worker.domain.einvoice.model import PEPPOL_SPECIFICATION, XRECHNUNG_SPECIFICATION, LegalInvoice
from worker.domain.einvoice.rules import Rule, Violation

CiusCheck = Callable[[LegalInvoice], Iterator[str]]
#: Format -> its rules, in the order they are checked.
CIUS_RULES: dict[str, list[tuple[Rule, CiusCheck]]] = {"ubl": [], "xrechnung": []}


def cius_rule(formats: tuple[str, ...], rule_id: str, at: str, text: str) -> Callable[[CiusCheck], CiusCheck]:
    def register(check_fn: CiusCheck) -> CiusCheck:
        for name in formats:
            CIUS_RULES[name].append((Rule(rule_id, at, text), check_fn))
        return check_fn

    return register


def check_cius(doc: LegalInvoice, einvoice: str) -> list[Violation]:
    """Every rule of `einvoice`'s CIUS that `doc` breaks ([] for Factur-X and the PDF alone)."""
    return [
        Violation(found.rule_id, found.text, found.at, detail)
        for found, check_fn in CIUS_RULES.get(einvoice, [])
        for detail in check_fn(doc)
    ]


@cius_rule(
    ("ubl",),
    "PEPPOL-EN16931-R004",
    "BT-24",
    "Specification identifier MUST have the value "
    "'urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0'.",
)
def _peppol_r004(doc: LegalInvoice) -> Iterator[str]:
    if doc.specification_id != PEPPOL_SPECIFICATION:
        yield f"BT-24 = {doc.specification_id}"


@cius_rule(
    ("ubl",), "PEPPOL-EN16931-R003", "BT-10, BT-13", "A buyer reference or purchase order reference MUST be provided."
)
def _peppol_r003(doc: LegalInvoice) -> Iterator[str]:
    if not doc.buyer_reference and not doc.purchase_order_reference:
        yield "neither BT-10 nor BT-13"


@cius_rule(
    ("xrechnung",),
    "BR-DE-21",
    "BT-24",
    "Das Element „Specification identifier“ (BT-24) soll syntaktisch der Kennung des Standards XRechnung entsprechen.",
)
def _br_de_21(doc: LegalInvoice) -> Iterator[str]:
    if doc.specification_id != XRECHNUNG_SPECIFICATION:
        yield f"BT-24 = {doc.specification_id}"


#: Rules that a term be present: (formats, rule id, the term, its official text, the term's value).
_REQUIRED: tuple[tuple[tuple[str, ...], str, str, str, Callable[[LegalInvoice], object]], ...] = (
    (("ubl", "xrechnung"), "PEPPOL-EN16931-R010", "BT-49", "Buyer electronic address MUST be provided",
     lambda d: d.buyer.electronic_address),
    (("ubl", "xrechnung"), "PEPPOL-EN16931-R020", "BT-34", "Seller electronic address MUST be provided",
     lambda d: d.seller.electronic_address),
    (("xrechnung",), "BR-DE-15", "BT-10", "Das Element „Buyer reference“ (BT-10) muss übermittelt werden.",
     lambda d: d.buyer_reference),
    (("xrechnung",), "BR-DE-1", "BG-16",
     "Eine Rechnung (INVOICE) muss Angaben zu „PAYMENT INSTRUCTIONS“ (BG-16) enthalten.",
     lambda d: d.payment_means),
    (("xrechnung",), "BR-DE-2", "BG-6", "Die Gruppe „SELLER CONTACT“ (BG-6) muss übermittelt werden.",
     lambda d: d.seller.contact),
    (("xrechnung",), "BR-DE-3", "BT-37",
     "Die Angabe der Stadt der Verkäuferanschrift „Seller city“ (BT-37) ist verpflichtend.",
     lambda d: d.seller.address.city),
    (("xrechnung",), "BR-DE-4", "BT-38",
     "Die Angabe der Postleitzahl der Verkäuferanschrift „Seller post code“ (BT-38) ist verpflichtend.",
     lambda d: d.seller.address.postal_code),
    (("xrechnung",), "BR-DE-8", "BT-52",
     "Die Angabe der Stadt der Käuferanschrift „Buyer city“ (BT-52) ist verpflichtend.",
     lambda d: d.buyer.address and d.buyer.address.city),
    (("xrechnung",), "BR-DE-9", "BT-53",
     "Die Angabe der Postleitzahl der Käuferanschrift „Buyer post code“ (BT-53) ist verpflichtend.",
     lambda d: d.buyer.address and d.buyer.address.postal_code),
)  # fmt: skip


def _present(at: str, value_of: Callable[[LegalInvoice], object]) -> CiusCheck:
    def check_fn(doc: LegalInvoice) -> Iterator[str]:
        if not value_of(doc):
            yield f"no {at}"

    return check_fn


for _formats, _rule_id, _at, _text, _value_of in _REQUIRED:
    cius_rule(_formats, _rule_id, _at, _text)(_present(_at, _value_of))
