"""The EN 16931 business rules, each with a document that passes and one that breaks it.

Given a correct legal invoice (built by `legal_invoice` from an invoice the worker issues), when
exactly one term is changed with `dataclasses.replace`, then `check` names the rule by its id, with
its official text and the business term at fault; the untouched document has no violation at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.legal_invoices import outside_scope, reverse_charge, standard, zero_rated
from worker.domain.einvoice.model import LegalInvoice
from worker.domain.einvoice.rules import RULES, check


def exempt() -> LegalInvoice:
    """A domestic 0 % supply its caller knows to be exempt (the table never says E on its own)."""
    doc = zero_rated()
    return replace(
        doc,
        lines=tuple(replace(line, vat_category="E") for line in doc.lines),
        vat_breakdown=tuple(
            replace(group, category="E", exemption_reason="Exempt", exemption_reason_code="VATEX-EU-132")
            for group in doc.vat_breakdown
        ),
    )


BASES: dict[str, Callable[[], LegalInvoice]] = {
    "standard": standard,
    "reverse charge": reverse_charge,
    "outside scope": outside_scope,
    "zero rated": zero_rated,
    "exempt": exempt,
}


def first_line(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, lines=(replace(doc.lines[0], **changes), *doc.lines[1:]))  # type: ignore[arg-type]


def first_group(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, vat_breakdown=(replace(doc.vat_breakdown[0], **changes), *doc.vat_breakdown[1:]))  # type: ignore[arg-type]


def totals(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, totals=replace(doc.totals, **changes))  # type: ignore[arg-type]


def seller(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, seller=replace(doc.seller, **changes))  # type: ignore[arg-type]


def buyer(doc: LegalInvoice, **changes: object) -> LegalInvoice:
    return replace(doc, buyer=replace(doc.buyer, **changes))  # type: ignore[arg-type]


def sub_cent(amount: Decimal) -> Decimal:
    """The same amount written with three decimals and a fraction of a cent."""
    return amount + Decimal("0.001")


#: rule id -> (the correct document it is tested on, the one change that breaks the rule)
BREAKS: dict[str, tuple[str, Callable[[LegalInvoice], LegalInvoice]]] = {
    "BR-01": ("standard", lambda d: replace(d, specification_id="")),
    "BR-02": ("standard", lambda d: replace(d, number="")),
    "BR-03": ("standard", lambda d: replace(d, issue_date=None)),  # type: ignore[arg-type]
    "BR-04": ("standard", lambda d: replace(d, type_code="")),
    "BR-05": ("standard", lambda d: replace(d, currency="")),
    "BR-06": ("standard", lambda d: seller(d, legal_name="")),
    "BR-07": ("standard", lambda d: buyer(d, legal_name="")),
    "BR-08": ("standard", lambda d: seller(d, address=None)),
    "BR-09": ("standard", lambda d: seller(d, address=replace(d.seller.address, country=""))),
    "BR-10": ("standard", lambda d: buyer(d, address=None)),
    "BR-11": ("standard", lambda d: buyer(d, address=replace(d.buyer.address, country=""))),  # type: ignore[arg-type]
    "BR-12": ("standard", lambda d: totals(d, line_net_total=None)),
    "BR-13": ("standard", lambda d: totals(d, total_without_vat=None)),
    "BR-14": ("standard", lambda d: totals(d, total_with_vat=None)),
    "BR-15": ("standard", lambda d: totals(d, amount_due=None)),
    "BR-16": ("standard", lambda d: replace(d, lines=())),
    "BR-21": ("standard", lambda d: first_line(d, line_id="")),
    "BR-25": ("standard", lambda d: first_line(d, name="")),
    "BR-27": ("standard", lambda d: first_line(d, unit_price=Decimal("-1.00"))),
    "BR-30": ("standard", lambda d: first_line(d, period_end=d.lines[0].period_start - timedelta(days=1))),
    "BR-CO-04": ("standard", lambda d: first_line(d, vat_category="")),
    "BR-CO-09": ("standard", lambda d: buyer(d, vat_id="820345015B01")),
    "BR-CO-10": ("standard", lambda d: totals(d, line_net_total=d.totals.line_net_total + Decimal("0.01"))),
    "BR-CO-13": ("standard", lambda d: totals(d, total_without_vat=d.totals.total_without_vat - Decimal("0.01"))),
    "BR-CO-14": ("standard", lambda d: totals(d, vat_total=d.totals.vat_total + Decimal("0.01"))),
    "BR-CO-15": ("standard", lambda d: totals(d, total_with_vat=d.totals.total_with_vat + Decimal("0.01"))),
    "BR-CO-16": ("standard", lambda d: totals(d, paid=Decimal("100.00"))),
    "BR-CO-17": ("standard", lambda d: first_group(d, rate=Decimal(20))),
    "BR-CO-18": ("standard", lambda d: replace(d, vat_breakdown=())),
    "BR-CO-25": ("standard", lambda d: replace(d, due_date=None, payment_terms=None)),
    "BR-S-05": ("standard", lambda d: first_line(d, vat_rate=Decimal(0))),
    "BR-Z-05": ("zero rated", lambda d: first_line(d, vat_rate=Decimal(9))),
    "BR-E-05": ("exempt", lambda d: first_line(d, vat_rate=Decimal(9))),
    "BR-AE-05": ("reverse charge", lambda d: first_line(d, vat_rate=Decimal(19))),
    "BR-O-02": ("outside scope", lambda d: seller(d, vat_id="NL820345003B01")),
    "BR-O-05": ("outside scope", lambda d: first_line(d, vat_rate=Decimal(0))),
    "BR-S-08": ("standard", lambda d: first_line(d, vat_rate=Decimal(9))),
    "BR-Z-08": ("zero rated", lambda d: first_group(d, taxable_amount=Decimal("1.00"))),
    "BR-E-08": ("exempt", lambda d: first_group(d, taxable_amount=Decimal("1.00"))),
    "BR-AE-08": ("reverse charge", lambda d: first_line(d, net_amount=Decimal("1.00"))),
    "BR-O-08": ("outside scope", lambda d: first_group(d, taxable_amount=Decimal("1.00"))),
    "BR-Z-09": ("zero rated", lambda d: first_group(d, tax_amount=Decimal("1.00"))),
    "BR-E-09": ("exempt", lambda d: first_group(d, tax_amount=Decimal("1.00"))),
    "BR-AE-09": ("reverse charge", lambda d: first_group(d, tax_amount=Decimal("1.00"))),
    "BR-O-09": ("outside scope", lambda d: first_group(d, tax_amount=Decimal("1.00"))),
    "BR-S-10": ("standard", lambda d: first_group(d, exemption_reason="Exempt")),
    "BR-Z-10": ("zero rated", lambda d: first_group(d, exemption_reason_code="VATEX-EU-132")),
    "BR-E-10": ("exempt", lambda d: first_group(d, exemption_reason=None, exemption_reason_code=None)),
    "BR-AE-10": ("reverse charge", lambda d: first_group(d, exemption_reason="Exempt", exemption_reason_code=None)),
    "BR-O-10": ("outside scope", lambda d: first_group(d, exemption_reason=None, exemption_reason_code=None)),
    "BR-AE-02": ("reverse charge", lambda d: buyer(d, vat_id=None)),
    "BR-DEC-09": ("standard", lambda d: totals(d, line_net_total=sub_cent(d.totals.line_net_total))),
    "BR-DEC-12": ("standard", lambda d: totals(d, total_without_vat=sub_cent(d.totals.total_without_vat))),
    "BR-DEC-13": ("standard", lambda d: totals(d, vat_total=sub_cent(d.totals.vat_total))),
    "BR-DEC-14": ("standard", lambda d: totals(d, total_with_vat=sub_cent(d.totals.total_with_vat))),
    "BR-DEC-16": ("standard", lambda d: totals(d, paid=Decimal("0.000"))),
    "BR-DEC-18": ("standard", lambda d: totals(d, amount_due=sub_cent(d.totals.amount_due))),
    "BR-DEC-19": ("standard", lambda d: first_group(d, taxable_amount=sub_cent(d.vat_breakdown[0].taxable_amount))),
    "BR-DEC-20": ("standard", lambda d: first_group(d, tax_amount=sub_cent(d.vat_breakdown[0].tax_amount))),
    "BR-DEC-23": ("standard", lambda d: first_line(d, net_amount=sub_cent(d.lines[0].net_amount))),
}


def test_every_rule_checked_has_a_passing_and_a_failing_document_here() -> None:
    assert set(BREAKS) == set(RULES)


@pytest.mark.parametrize("base", sorted(BASES))
def test_a_built_document_breaks_no_rule(base: str) -> None:
    assert check(BASES[base]()) == []


@pytest.mark.parametrize("rule_id", sorted(BREAKS))
def test_breaking_one_term_is_reported_with_the_rules_id_text_and_term(rule_id: str) -> None:
    # Given a correct document that exercises the rule
    base, breaker = BREAKS[rule_id]
    correct = BASES[base]()
    assert rule_id not in {violation.rule_id for violation in check(correct)}
    # When one term is changed
    broken = breaker(correct)
    # Then the rule is reported, with its official text and the BT/BG it is about
    found = [violation for violation in check(broken) if violation.rule_id == rule_id]
    assert found, f"{rule_id} not reported"
    assert found[0].text == RULES[rule_id].text
    assert found[0].at == RULES[rule_id].at
    assert f"[{rule_id}]" in str(found[0])


def test_the_rule_texts_are_the_official_ones() -> None:
    # Spot checks against the CEN/TC 434 texts (EN16931 validation artefacts).
    assert RULES["BR-CO-10"].text == "Sum of Invoice line net amount (BT-106) = Σ Invoice line net amount (BT-131)."
    assert RULES["BR-AE-05"].text.startswith("In an Invoice line (BG-25) where the Invoiced item VAT category code")
    assert RULES["BR-DEC-23"].text == (
        "The allowed maximum number of decimals for the Invoice line net amount (BT-131) is 2."
    )


def test_a_violation_says_which_values_break_the_sum() -> None:
    doc = standard()
    broken = totals(doc, line_net_total=Decimal("1.00"))

    (violation,) = [v for v in check(broken) if v.rule_id == "BR-CO-10"]

    assert violation.detail == "BT-106 = 1.00, Σ BT-131 = 47000.00"


def test_every_broken_line_is_reported_once() -> None:
    doc = standard()
    broken = replace(doc, lines=tuple(replace(line, name="") for line in doc.lines))

    assert [v.detail for v in check(broken) if v.rule_id == "BR-25"] == [
        "line L1: BT-153 is empty",
        "line L2: BT-153 is empty",
        "line L3: BT-153 is empty",
    ]


def test_tax_rounded_per_line_passes_br_co_17_within_one_currency_unit() -> None:
    # Given a VAT group whose tax is a cent off BT-116 x rate (each line's tax rounded on its own)
    group = standard().vat_breakdown[0]
    doc = first_group(standard(), tax_amount=group.tax_amount + Decimal("0.01"))
    # Then CEN's tolerance accepts it, while a deviation beyond one unit is refused
    assert "BR-CO-17" not in {v.rule_id for v in check(doc)}
    off = first_group(standard(), tax_amount=group.tax_amount + Decimal("1.01"))
    assert "BR-CO-17" in {v.rule_id for v in check(off)}
