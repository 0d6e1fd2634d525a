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


@cius_rule(("ubl", "xrechnung"), "PEPPOL-EN16931-R010", "BT-49", "Buyer electronic address MUST be provided")
def _peppol_r010(doc: LegalInvoice) -> Iterator[str]:
    if doc.buyer.electronic_address is None:
        yield "no BT-49"


@cius_rule(("ubl", "xrechnung"), "PEPPOL-EN16931-R020", "BT-34", "Seller electronic address MUST be provided")
def _peppol_r020(doc: LegalInvoice) -> Iterator[str]:
    if doc.seller.electronic_address is None:
        yield "no BT-34"


@cius_rule(
    ("xrechnung",),
    "BR-DE-21",
    "BT-24",
    "Das Element „Specification identifier“ (BT-24) soll syntaktisch der Kennung des Standards XRechnung entsprechen.",
)
def _br_de_21(doc: LegalInvoice) -> Iterator[str]:
    if doc.specification_id != XRECHNUNG_SPECIFICATION:
        yield f"BT-24 = {doc.specification_id}"


@cius_rule(("xrechnung",), "BR-DE-15", "BT-10", "Das Element „Buyer reference“ (BT-10) muss übermittelt werden.")
def _br_de_15(doc: LegalInvoice) -> Iterator[str]:
    if not doc.buyer_reference:
        yield "no BT-10"


@cius_rule(
    ("xrechnung",),
    "BR-DE-1",
    "BG-16",
    "Eine Rechnung (INVOICE) muss Angaben zu „PAYMENT INSTRUCTIONS“ (BG-16) enthalten.",
)
def _br_de_1(doc: LegalInvoice) -> Iterator[str]:
    if not doc.payment_means:
        yield "no BG-16"


@cius_rule(("xrechnung",), "BR-DE-2", "BG-6", "Die Gruppe „SELLER CONTACT“ (BG-6) muss übermittelt werden.")
def _br_de_2(doc: LegalInvoice) -> Iterator[str]:
    if doc.seller.contact is None:
        yield "no BG-6"


@cius_rule(
    ("xrechnung",),
    "BR-DE-3",
    "BT-37",
    "Die Angabe der Stadt der Verkäuferanschrift „Seller city“ (BT-37) ist verpflichtend.",
)
def _br_de_3(doc: LegalInvoice) -> Iterator[str]:
    if not doc.seller.address.city:
        yield "no BT-37"


@cius_rule(
    ("xrechnung",),
    "BR-DE-4",
    "BT-38",
    "Die Angabe der Postleitzahl der Verkäuferanschrift „Seller post code“ (BT-38) ist verpflichtend.",
)
def _br_de_4(doc: LegalInvoice) -> Iterator[str]:
    if not doc.seller.address.postal_code:
        yield "no BT-38"


@cius_rule(
    ("xrechnung",),
    "BR-DE-8",
    "BT-52",
    "Die Angabe der Stadt der Käuferanschrift „Buyer city“ (BT-52) ist verpflichtend.",
)
def _br_de_8(doc: LegalInvoice) -> Iterator[str]:
    if doc.buyer.address is None or not doc.buyer.address.city:
        yield "no BT-52"


@cius_rule(
    ("xrechnung",),
    "BR-DE-9",
    "BT-53",
    "Die Angabe der Postleitzahl der Käuferanschrift „Buyer post code“ (BT-53) ist verpflichtend.",
)
def _br_de_9(doc: LegalInvoice) -> Iterator[str]:
    if doc.buyer.address is None or not doc.buyer.address.postal_code:
        yield "no BT-53"
