"""The EN 16931 business rules the worker's invoices exercise, checked on the model. Pure.

Each rule keeps its official id and text (EN 16931-1:2017 as the CEN/TC 434 validation artefacts
state them, the texts Peppol BIS Billing 3.0 and Factur-X report) and names the business term or
group at fault. `check` returns every violation; an empty list means the document may be sent.

Two readings, said once here:
- "rounded to two decimals" (BR-CO-17) is read as rounded to the currency's minor unit with the
  project's `round_money` (half up), within one currency unit as CEN's own Schematron accepts: the
  invoice rounds each line's tax, EN 16931 the rate's, and the cents between them are lawful.
- The model has no document level allowances or charges (BG-20, BG-21) and no rounding amount
  (BT-114): the sums that name them take them as zero.
Rules on terms the model always holds by its types (a `date`, a tuple) still check for an empty
value, so a document assembled by hand is checked like a built one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from worker.domain.einvoice.model import LegalInvoice, VatBreakdown
from worker.domain.einvoice.vat_categories import (
    EXEMPT,
    NOT_SUBJECT_REASON,
    NOT_SUBJECT_TO_VAT,
    REVERSE_CHARGE,
    REVERSE_CHARGE_REASON,
    STANDARD_RATED,
    ZERO_RATED,
)
from worker.domain.money import MINOR_UNITS, round_money

#: BR-CO-17's tolerance, as the CEN/TC 434 Schematron tests it (`abs(BT-117) - 1 <= ...`).
BR_CO_17_TOLERANCE = Decimal(1)
#: BR-DEC-*: amounts have at most this many decimals.
MAX_AMOUNT_DECIMALS = 2


@dataclass(frozen=True)
class Rule:
    rule_id: str
    #: The business term or group the rule is about: where a violation is at fault.
    at: str
    text: str


@dataclass(frozen=True)
class Violation:
    rule_id: str
    text: str
    #: The BT/BG at fault.
    at: str
    #: The values that break it, e.g. "BT-106 = 100.00, sum of BT-131 = 100.01".
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule_id}] {self.text} ({self.at}: {self.detail})"


Check = Callable[[LegalInvoice], Iterator[str]]
#: Every rule checked, by id, in the order `check` runs them.
RULES: dict[str, Rule] = {}
_CHECKS: list[tuple[Rule, Check]] = []


def rule(rule_id: str, at: str, text: str) -> Callable[[Check], Check]:
    """Register a check: a generator yielding one detail per place the rule is broken."""

    def register(check_fn: Check) -> Check:
        assert rule_id not in RULES, rule_id
        RULES[rule_id] = Rule(rule_id, at, text)
        _CHECKS.append((RULES[rule_id], check_fn))
        return check_fn

    return register


def check(document: LegalInvoice) -> list[Violation]:
    """Every EN 16931 rule of `RULES` that `document` breaks; [] when it may be sent."""
    return [
        Violation(found.rule_id, found.text, found.at, detail)
        for found, check_fn in _CHECKS
        for detail in check_fn(document)
    ]


def _missing(value: object) -> bool:
    return value is None or value == "" or value == ()


def _absent(*amounts: Decimal | None) -> bool:
    """A sum rule is not evaluated without its terms: BR-12..BR-15 report the missing one."""
    return any(amount is None for amount in amounts)


# --- BR-01..BR-16: mandatory terms --------------------------------------------------------------


@rule("BR-01", "BT-24", "An Invoice shall have a Specification identifier (BT-24).")
def _br_01(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.specification_id):
        yield "BT-24 is empty"


@rule("BR-02", "BT-1", "An Invoice shall have an Invoice number (BT-1).")
def _br_02(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.number):
        yield "BT-1 is empty"


@rule("BR-03", "BT-2", "An Invoice shall have an Invoice issue date (BT-2).")
def _br_03(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.issue_date):
        yield "BT-2 is empty"


@rule("BR-04", "BT-3", "An Invoice shall have an Invoice type code (BT-3).")
def _br_04(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.type_code):
        yield "BT-3 is empty"


@rule("BR-05", "BT-5", "An Invoice shall have an Invoice currency code (BT-5).")
def _br_05(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.currency):
        yield "BT-5 is empty"


@rule("BR-06", "BT-27", "An Invoice shall contain the Seller name (BT-27).")
def _br_06(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.seller.legal_name):
        yield "BT-27 is empty"


@rule("BR-07", "BT-44", "An Invoice shall contain the Buyer name (BT-44).")
def _br_07(doc: LegalInvoice) -> Iterator[str]:
    if _missing(doc.buyer.legal_name):
        yield "BT-44 is empty"


@rule("BR-08", "BG-5", "An Invoice shall contain the Seller postal address (BG-5).")
def _br_08(doc: LegalInvoice) -> Iterator[str]:
    if doc.seller.address is None:
        yield "BG-5 is missing"


@rule("BR-09", "BT-40", "The Seller postal address (BG-5) shall contain a Seller country code (BT-40).")
def _br_09(doc: LegalInvoice) -> Iterator[str]:
    if doc.seller.address is not None and _missing(doc.seller.address.country):
        yield "BT-40 is empty"


@rule("BR-10", "BG-8", "An Invoice shall contain the Buyer postal address (BG-8).")
def _br_10(doc: LegalInvoice) -> Iterator[str]:
    if doc.buyer.address is None:
        yield "BG-8 is missing"


@rule("BR-11", "BT-55", "The Buyer postal address shall contain a Buyer country code (BT-55).")
def _br_11(doc: LegalInvoice) -> Iterator[str]:
    if doc.buyer.address is not None and _missing(doc.buyer.address.country):
        yield "BT-55 is empty"


@rule("BR-12", "BT-106", "An Invoice shall have the Sum of Invoice line net amount (BT-106).")
def _br_12(doc: LegalInvoice) -> Iterator[str]:
    if doc.totals.line_net_total is None:
        yield "BT-106 is missing"


@rule("BR-13", "BT-109", "An Invoice shall have the Invoice total amount without VAT (BT-109).")
def _br_13(doc: LegalInvoice) -> Iterator[str]:
    if doc.totals.total_without_vat is None:
        yield "BT-109 is missing"


@rule("BR-14", "BT-112", "An Invoice shall have the Invoice total amount with VAT (BT-112).")
def _br_14(doc: LegalInvoice) -> Iterator[str]:
    if doc.totals.total_with_vat is None:
        yield "BT-112 is missing"


@rule("BR-15", "BT-115", "An Invoice shall have the Amount due for payment (BT-115).")
def _br_15(doc: LegalInvoice) -> Iterator[str]:
    if doc.totals.amount_due is None:
        yield "BT-115 is missing"


@rule("BR-16", "BG-25", "An Invoice shall have at least one Invoice line (BG-25).")
def _br_16(doc: LegalInvoice) -> Iterator[str]:
    if not doc.lines:
        yield "no BG-25"


@rule("BR-21", "BT-126", "Each Invoice line (BG-25) shall have an Invoice line identifier (BT-126).")
def _br_21(doc: LegalInvoice) -> Iterator[str]:
    for index, line in enumerate(doc.lines, 1):
        if _missing(line.line_id):
            yield f"line {index}: BT-126 is empty"


@rule("BR-25", "BT-153", "Each Invoice line (BG-25) shall contain the Item name (BT-153).")
def _br_25(doc: LegalInvoice) -> Iterator[str]:
    for line in doc.lines:
        if _missing(line.name):
            yield f"line {line.line_id}: BT-153 is empty"


@rule("BR-27", "BT-146", "The Item net price (BT-146) shall NOT be negative.")
def _br_27(doc: LegalInvoice) -> Iterator[str]:
    for line in doc.lines:
        if line.unit_price < 0:
            yield f"line {line.line_id}: BT-146 = {line.unit_price}"


@rule(
    "BR-30",
    "BT-135",
    "If both Invoice line period start date (BT-134) and Invoice line period end date (BT-135) are given then"
    " the Invoice line period end date (BT-135) shall be later or equal to the Invoice line period start date"
    " (BT-134).",
)
def _br_30(doc: LegalInvoice) -> Iterator[str]:
    for line in doc.lines:
        if line.period_start and line.period_end and line.period_end < line.period_start:
            yield f"line {line.line_id}: BT-134 = {line.period_start}, BT-135 = {line.period_end}"


# --- BR-CO-*: conditions and sums -------------------------------------------------------------


_VAT_ID_PREFIX = re.compile(r"[A-Z]{2}")


@rule(
    "BR-CO-09",
    "BT-31, BT-48",
    "The Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer"
    " VAT identifier (BT-48) shall have a prefix in accordance with ISO code ISO 3166-1 alpha-2 by which"
    " the country of issue may be identified. Nevertheless, Greece may use the prefix 'EL'.",
)
def _br_co_09(doc: LegalInvoice) -> Iterator[str]:
    for term, vat_id in (("BT-31", doc.seller.vat_id), ("BT-48", doc.buyer.vat_id)):
        if vat_id and not _VAT_ID_PREFIX.match(vat_id):
            yield f"{term} = {vat_id!r} has no country prefix"


@rule(
    "BR-CO-04",
    "BT-151",
    "Each Invoice line (BG-25) shall be categorized with an Invoiced item VAT category code (BT-151).",
)
def _br_co_04(doc: LegalInvoice) -> Iterator[str]:
    for line in doc.lines:
        if _missing(line.vat_category):
            yield f"line {line.line_id}: BT-151 is empty"


@rule("BR-CO-10", "BT-106", "Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131).")
def _br_co_10(doc: LegalInvoice) -> Iterator[str]:
    lines = sum((line.net_amount for line in doc.lines), Decimal(0))
    if doc.totals.line_net_total is not None and doc.totals.line_net_total != lines:
        yield f"BT-106 = {doc.totals.line_net_total}, Σ BT-131 = {lines}"


@rule(
    "BR-CO-13",
    "BT-109",
    "Invoice total amount without VAT (BT-109) = Σ Invoice line net amount (BT-131) - Sum of allowances on"
    " document level (BT-107) + Sum of charges on document level (BT-108).",
)
def _br_co_13(doc: LegalInvoice) -> Iterator[str]:
    lines = sum((line.net_amount for line in doc.lines), Decimal(0))
    if doc.totals.total_without_vat is not None and doc.totals.total_without_vat != lines:  # no BT-107, BT-108
        yield f"BT-109 = {doc.totals.total_without_vat}, Σ BT-131 = {lines}"


@rule("BR-CO-14", "BT-110", "Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117).")
def _br_co_14(doc: LegalInvoice) -> Iterator[str]:
    tax = sum((group.tax_amount for group in doc.vat_breakdown), Decimal(0))
    if doc.totals.vat_total is not None and doc.totals.vat_total != tax:
        yield f"BT-110 = {doc.totals.vat_total}, Σ BT-117 = {tax}"


@rule(
    "BR-CO-15",
    "BT-112",
    "Invoice total amount with VAT (BT-112) = Invoice total amount without VAT (BT-109) + Invoice total VAT"
    " amount (BT-110).",
)
def _br_co_15(doc: LegalInvoice) -> Iterator[str]:
    totals = doc.totals
    if _absent(totals.total_with_vat, totals.total_without_vat, totals.vat_total):
        return
    if totals.total_with_vat != totals.total_without_vat + totals.vat_total:
        yield f"BT-112 = {totals.total_with_vat}, BT-109 + BT-110 = {totals.total_without_vat + totals.vat_total}"


@rule(
    "BR-CO-16",
    "BT-115",
    "Amount due for payment (BT-115) = Invoice total amount with VAT (BT-112) -Paid amount (BT-113)"
    " +Rounding amount (BT-114).",
)
def _br_co_16(doc: LegalInvoice) -> Iterator[str]:
    totals = doc.totals
    if _absent(totals.amount_due, totals.total_with_vat, totals.paid):
        return
    if totals.amount_due != totals.total_with_vat - totals.paid:  # no BT-114
        yield f"BT-115 = {totals.amount_due}, BT-112 - BT-113 = {totals.total_with_vat - totals.paid}"


@rule(
    "BR-CO-17",
    "BT-117",
    "VAT category tax amount (BT-117) = VAT category taxable amount (BT-116) x (VAT category rate (BT-119)"
    " / 100), rounded to two decimals.",
)
def _br_co_17(doc: LegalInvoice) -> Iterator[str]:
    if doc.currency not in MINOR_UNITS:  # no amount can be rounded in it (BR-05 names an empty one)
        return
    for group in doc.vat_breakdown:
        expected = round_money(group.taxable_amount * (group.rate or 0) / 100, doc.currency)
        # CEN's validation artefacts (v1.3) accept a deviation of up to one currency unit: an
        # invoice that rounds the tax of each line, as this project's does, passes.
        if abs(abs(group.tax_amount) - abs(expected)) > BR_CO_17_TOLERANCE:
            yield f"{_group(group)}: BT-117 = {group.tax_amount}, BT-116 x BT-119 / 100 = {expected}"


@rule("BR-CO-18", "BG-23", "An Invoice shall at least have one VAT breakdown group (BG-23).")
def _br_co_18(doc: LegalInvoice) -> Iterator[str]:
    if not doc.vat_breakdown:
        yield "no BG-23"


@rule(
    "BR-CO-25",
    "BT-9, BT-20",
    "In case the Amount due for payment (BT-115) is positive, either the Payment due date (BT-9) or the"
    " Payment terms (BT-20) shall be present.",
)
def _br_co_25(doc: LegalInvoice) -> Iterator[str]:
    if (
        doc.totals.amount_due is not None
        and doc.totals.amount_due > 0
        and doc.due_date is None
        and _missing(doc.payment_terms)
    ):
        yield f"BT-115 = {doc.totals.amount_due}, neither BT-9 nor BT-20"


# --- VAT categories: line rates (BR-*-05) -------------------------------------------------------


def _line_rate_rule(category: str, name: str, holds: Callable[[Decimal | None], bool], wanted: str) -> Check:
    def check_lines(doc: LegalInvoice) -> Iterator[str]:
        for line in doc.lines:
            if line.vat_category == category and not holds(line.vat_rate):
                yield f"line {line.line_id} ({name}): BT-152 = {line.vat_rate}, {wanted}"

    return check_lines


rule(
    "BR-S-05",
    "BT-152",
    'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Standard rated" the'
    " Invoiced item VAT rate (BT-152) shall be greater than zero.",
)(_line_rate_rule(STANDARD_RATED, "S", lambda rate: rate is not None and rate > 0, "greater than zero wanted"))
rule(
    "BR-Z-05",
    "BT-152",
    'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Zero rated" the'
    " Invoiced item VAT rate (BT-152) shall be 0 (zero).",
)(_line_rate_rule(ZERO_RATED, "Z", lambda rate: rate == 0, "0 wanted"))
rule(
    "BR-E-05",
    "BT-152",
    'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Exempt from VAT", the'
    " Invoiced item VAT rate (BT-152) shall be 0 (zero).",
)(_line_rate_rule(EXEMPT, "E", lambda rate: rate == 0, "0 wanted"))
rule(
    "BR-AE-05",
    "BT-152",
    'In an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Reverse charge" the'
    " Invoiced item VAT rate (BT-152) shall be 0 (zero).",
)(_line_rate_rule(REVERSE_CHARGE, "AE", lambda rate: rate == 0, "0 wanted"))


@rule(
    "BR-O-02",
    "BT-31, BT-48",
    'An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is "Not'
    ' subject to VAT" shall not contain the Seller VAT identifier (BT-31), the Seller tax representative VAT'
    " identifier (BT-63) or the Buyer VAT identifier (BT-48).",
)
def _br_o_02(doc: LegalInvoice) -> Iterator[str]:
    if any(line.vat_category == NOT_SUBJECT_TO_VAT for line in doc.lines):
        if doc.seller.vat_id:
            yield f"BT-31 = {doc.seller.vat_id}"
        if doc.buyer.vat_id:
            yield f"BT-48 = {doc.buyer.vat_id}"


rule(
    "BR-O-05",
    "BT-152",
    'An Invoice line (BG-25) where the VAT category code (BT-151) is "Not subject to VAT" shall not contain an'
    " Invoiced item VAT rate (BT-152).",
)(_line_rate_rule(NOT_SUBJECT_TO_VAT, "O", lambda rate: rate is None, "none wanted"))


# --- VAT categories: taxable amounts (BR-*-08) ---------------------------------------------------


def _taxable_rule(category: str, *, per_rate: bool) -> Check:
    def check_breakdown(doc: LegalInvoice) -> Iterator[str]:
        for group in doc.vat_breakdown:
            if group.category != category:
                continue
            lines = sum(
                (
                    line.net_amount
                    for line in doc.lines
                    if line.vat_category == category and (not per_rate or line.vat_rate == group.rate)
                ),
                Decimal(0),
            )
            if group.taxable_amount != lines:
                yield f"{_group(group)}: BT-116 = {group.taxable_amount}, Σ BT-131 = {lines}"

    return check_breakdown


rule(
    "BR-S-08",
    "BT-116",
    'For each different value of VAT category rate (BT-119) where the VAT category code (BT-118) is "Standard'
    ' rated", the VAT category taxable amount (BT-116) in a VAT breakdown (BG-23) shall equal the sum of'
    " Invoice line net amounts (BT-131) plus the sum of document level charge amounts (BT-99) minus the sum of"
    ' document level allowance amounts (BT-92) where the VAT category code (BT-151, BT-102, BT-95) is "Standard'
    ' rated" and the VAT rate (BT-152, BT-103, BT-96) equals the VAT category rate (BT-119).',
)(_taxable_rule(STANDARD_RATED, per_rate=True))
rule(
    "BR-Z-08",
    "BT-116",
    'In a VAT breakdown (BG-23) where VAT category code (BT-118) is "Zero rated" the VAT category taxable amount'
    " (BT-116) shall equal the sum of Invoice line net amount (BT-131) minus the sum of Document level allowance"
    " amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT category codes"
    ' (BT-151, BT-95, BT-102) are "Zero rated".',
)(_taxable_rule(ZERO_RATED, per_rate=False))
rule(
    "BR-E-08",
    "BT-116",
    'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Exempt from VAT" the VAT category'
    " taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document"
    " level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT"
    ' category codes (BT-151, BT-95, BT-102) are "Exempt from VAT".',
)(_taxable_rule(EXEMPT, per_rate=False))
rule(
    "BR-AE-08",
    "BT-116",
    'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is "Reverse charge" the VAT category'
    " taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document"
    " level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT"
    ' category codes (BT-151, BT-95, BT-102) are "Reverse charge".',
)(_taxable_rule(REVERSE_CHARGE, per_rate=False))
rule(
    "BR-O-08",
    "BT-116",
    'In a VAT breakdown (BG-23) where the VAT category code (BT-118) is " Not subject to VAT" the VAT category'
    " taxable amount (BT-116) shall equal the sum of Invoice line net amounts (BT-131) minus the sum of Document"
    " level allowance amounts (BT-92) plus the sum of Document level charge amounts (BT-99) where the VAT"
    ' category codes (BT-151, BT-95, BT-102) are "Not subject to VAT".',
)(_taxable_rule(NOT_SUBJECT_TO_VAT, per_rate=False))


# --- VAT categories: no tax where none is due (BR-*-09) -----------------------------------------


def _no_tax_rule(category: str) -> Check:
    def check_breakdown(doc: LegalInvoice) -> Iterator[str]:
        for group in doc.vat_breakdown:
            if group.category == category and group.tax_amount != 0:
                yield f"{_group(group)}: BT-117 = {group.tax_amount}, 0 wanted"

    return check_breakdown


rule(
    "BR-Z-09",
    "BT-117",
    'The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where VAT category code (BT-118) is "Zero'
    ' rated" shall equal 0 (zero).',
)(_no_tax_rule(ZERO_RATED))
rule(
    "BR-E-09",
    "BT-117",
    "The VAT category tax amount (BT-117) In a VAT breakdown (BG-23) where the VAT category code (BT-118) equals"
    ' "Exempt from VAT" shall equal 0 (zero).',
)(_no_tax_rule(EXEMPT))
rule(
    "BR-AE-09",
    "BT-117",
    "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is"
    ' "Reverse charge" shall be 0 (zero).',
)(_no_tax_rule(REVERSE_CHARGE))
rule(
    "BR-O-09",
    "BT-117",
    "The VAT category tax amount (BT-117) in a VAT breakdown (BG-23) where the VAT category code (BT-118) is"
    ' "Not subject to VAT" shall be 0 (zero).',
)(_no_tax_rule(NOT_SUBJECT_TO_VAT))


# --- VAT categories: exemption reasons (BR-*-10) ------------------------------------------------


def _reason_rule(category: str, reason: tuple[str, str] | None, *, present: bool) -> Check:
    """`present`: the reason is required (`reason`: the text and code that say it, any when None)."""

    def check_breakdown(doc: LegalInvoice) -> Iterator[str]:
        for group in doc.vat_breakdown:
            if group.category != category:
                continue
            given = (group.exemption_reason, group.exemption_reason_code)
            if not present:
                if any(given):
                    yield f"{_group(group)}: BT-120/BT-121 = {given}, none wanted"
            elif reason is None:
                if not any(given):
                    yield f"{_group(group)}: neither BT-120 nor BT-121"
            elif group.exemption_reason != reason[0] and group.exemption_reason_code != reason[1]:
                yield f"{_group(group)}: BT-120/BT-121 = {given}, {reason} wanted"

    return check_breakdown


rule(
    "BR-S-10",
    "BT-120, BT-121",
    'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Standard rate" shall not have a VAT exemption'
    " reason code (BT-121) or VAT exemption reason text (BT-120).",
)(_reason_rule(STANDARD_RATED, None, present=False))
rule(
    "BR-Z-10",
    "BT-120, BT-121",
    'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Zero rated" shall not have a VAT exemption reason'
    " code (BT-121) or VAT exemption reason text (BT-120).",
)(_reason_rule(ZERO_RATED, None, present=False))
rule(
    "BR-E-10",
    "BT-120, BT-121",
    'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Exempt from VAT" shall have a VAT exemption reason'
    " code (BT-121) or a VAT exemption reason text (BT-120).",
)(_reason_rule(EXEMPT, None, present=True))
rule(
    "BR-AE-10",
    "BT-120, BT-121",
    'A VAT breakdown (BG-23) with VAT Category code (BT-118) "Reverse charge" shall have a VAT exemption reason'
    ' code (BT-121), meaning "Reverse charge" or the VAT exemption reason text (BT-120) "Reverse charge" (or the'
    " equivalent standard text in another language).",
)(_reason_rule(REVERSE_CHARGE, REVERSE_CHARGE_REASON, present=True))
rule(
    "BR-O-10",
    "BT-120, BT-121",
    'A VAT breakdown (BG-23) with VAT Category code (BT-118) " Not subject to VAT" shall have a VAT exemption'
    ' reason code (BT-121), meaning " Not subject to VAT" or a VAT exemption reason text (BT-120) " Not subject'
    ' to VAT" (or the equivalent standard text in another language).',
)(_reason_rule(NOT_SUBJECT_TO_VAT, NOT_SUBJECT_REASON, present=True))


@rule(
    "BR-AE-02",
    "BT-31, BT-48",
    "An Invoice that contains an Invoice line (BG-25) where the Invoiced item VAT category code (BT-151) is"
    ' "Reverse charge" shall contain the Seller VAT Identifier (BT-31), the Seller Tax registration identifier'
    " (BT-32) and/or the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48)"
    " and/or the Buyer legal registration identifier (BT-47).",
)
def _br_ae_02(doc: LegalInvoice) -> Iterator[str]:
    if not any(line.vat_category == REVERSE_CHARGE for line in doc.lines):
        return
    if not (doc.seller.vat_id or doc.seller.tax_registration_id):
        yield "reverse charge without BT-31 or BT-32"
    if not doc.buyer.vat_id:  # the model carries no BT-47: the buyer's VAT id is what counts
        yield "reverse charge without BT-48"


# --- BR-DEC-*: decimals of amounts --------------------------------------------------------------


def _decimals(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _total_decimals_rule(term: str, field: str) -> Check:
    def check_total(doc: LegalInvoice) -> Iterator[str]:
        amount: Decimal | None = getattr(doc.totals, field)
        if amount is not None and _decimals(amount) > MAX_AMOUNT_DECIMALS:
            yield f"{term} = {amount}"

    return check_total


for _rule_id, _term, _field, _name in (
    ("BR-DEC-09", "BT-106", "line_net_total", "Sum of Invoice line net amount"),
    ("BR-DEC-12", "BT-109", "total_without_vat", "Invoice total amount without VAT"),
    ("BR-DEC-13", "BT-110", "vat_total", "Invoice total VAT amount"),
    ("BR-DEC-14", "BT-112", "total_with_vat", "Invoice total amount with VAT"),
    ("BR-DEC-16", "BT-113", "paid", "Paid amount"),
    ("BR-DEC-18", "BT-115", "amount_due", "Amount due for payment"),
):
    rule(_rule_id, _term, f"The allowed maximum number of decimals for the {_name} ({_term}) is 2.")(
        _total_decimals_rule(_term, _field)
    )


@rule(
    "BR-DEC-19", "BT-116", "The allowed maximum number of decimals for the VAT category taxable amount (BT-116) is 2."
)
def _br_dec_19(doc: LegalInvoice) -> Iterator[str]:
    for group in doc.vat_breakdown:
        if _decimals(group.taxable_amount) > MAX_AMOUNT_DECIMALS:
            yield f"{_group(group)}: BT-116 = {group.taxable_amount}"


@rule("BR-DEC-20", "BT-117", "The allowed maximum number of decimals for the VAT category tax amount (BT-117) is 2.")
def _br_dec_20(doc: LegalInvoice) -> Iterator[str]:
    for group in doc.vat_breakdown:
        if _decimals(group.tax_amount) > MAX_AMOUNT_DECIMALS:
            yield f"{_group(group)}: BT-117 = {group.tax_amount}"


@rule("BR-DEC-23", "BT-131", "The allowed maximum number of decimals for the Invoice line net amount (BT-131) is 2.")
def _br_dec_23(doc: LegalInvoice) -> Iterator[str]:
    for line in doc.lines:
        if _decimals(line.net_amount) > MAX_AMOUNT_DECIMALS:
            yield f"line {line.line_id}: BT-131 = {line.net_amount}"


def _group(group: VatBreakdown) -> str:
    return f"BG-23 {group.category} {group.rate if group.rate is not None else '-'} %"
