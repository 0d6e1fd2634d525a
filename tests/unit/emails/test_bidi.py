"""Right-to-left text with left-to-right values in it."""

from __future__ import annotations

from babel.support import NullTranslations

from worker.emails.bidi import FSI, PDI, RLM, IsolatingTranslations, isolate_placeholders, right_to_left_lines


def test_every_non_blank_line_opens_right_to_left_once() -> None:
    text = "الفاتورة INV-1\n\n* Fusion ERP — الطلب O-1\n  IBAN: NL20\n"

    marked = right_to_left_lines(text)

    assert marked == f"{RLM}الفاتورة INV-1\n\n{RLM}* Fusion ERP — الطلب O-1\n{RLM}  IBAN: NL20\n"
    assert right_to_left_lines(marked) == marked


def test_placeholders_are_isolated_and_literal_text_is_not() -> None:
    assert (
        isolate_placeholders("الفاتورة %(number)s: %(total)s") == f"الفاتورة {FSI}%(number)s{PDI}: {FSI}%(total)s{PDI}"
    )
    assert isolate_placeholders("100%% paid") == "100%% paid"


def test_isolating_translations_wrap_what_the_catalog_returns() -> None:
    translations = IsolatingTranslations(NullTranslations())

    assert translations.gettext("Invoice %(number)s") % {"number": "INV-1"} == f"Invoice {FSI}INV-1{PDI}"
    assert translations.ngettext("%(n)s day", "%(n)s days", 2) == f"{FSI}%(n)s{PDI} days"
