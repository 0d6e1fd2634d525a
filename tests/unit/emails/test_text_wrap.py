"""The plain-text part wraps at 76 columns like a mail client's window, without breaking what a
reader copies (an invoice number, an IBAN, a date) or a right-to-left line's mark."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.domain.locales import SUPPORTED_LOCALES
from worker.emails.bidi import RLM
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_TEMPLATES_DIR, default_renderer, render
from worker.emails.text_wrap import (
    TEXT_WIDTH,
    _breaks_at_spaces_only,
    _split_at_spaces,
    _split_chars,
    display_width,
    wrap_text,
)
from worker.settings import Settings

KINDS = sorted(p.name for p in DEFAULT_TEMPLATES_DIR.iterdir() if p.is_dir() and p.name[0] != "_")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_line_of_the_text_part_is_wider_than_76_columns(kind: str, locale: str) -> None:
    # Given any email, when rendered, then every line fits 76 columns (East Asian characters
    # count two), but for one that is a single word too long to break
    text = render(kind, preview_context(kind, Settings()), locale).text
    for line in text.splitlines():
        assert display_width(line) <= TEXT_WIDTH or " " not in line.strip(), (kind, locale, line)


def test_a_long_paragraph_wraps_between_words_and_reads_the_same() -> None:
    paragraph = "A bank transfer takes about two business days to arrive, " * 5
    lines = wrap_text(paragraph.strip()).split("\n")
    assert len(lines) > 3 and all(display_width(line) <= TEXT_WIDTH for line in lines)
    assert " ".join(lines) == paragraph.strip()


def test_a_wrapped_list_item_keeps_its_hanging_indent() -> None:
    item = "* " + "Fusion ERP subscription for the finance department " * 3
    first, *rest = wrap_text(item.strip()).split("\n")
    assert first.startswith("* ") and rest and all(line.startswith("  ") and line[2] != " " for line in rest)


def test_japanese_wraps_between_characters_but_never_before_closing_punctuation() -> None:
    text = "請求書に記載の振込先へ銀行振込でお支払いください。" * 6
    lines = wrap_text(text).split("\n")
    assert len(lines) > 1 and "".join(lines) == text
    assert all(display_width(line) <= TEXT_WIDTH for line in lines)
    assert not any(line.startswith(("。", "、", "」")) for line in lines)


def test_an_invoice_number_iban_or_url_is_never_broken() -> None:
    iban = "NL91ABNA0417164300" * 5
    assert wrap_text(f"IBAN: {iban}") == f"IBAN:\n{iban}"
    assert "INV-0000002" in wrap_text("quote the invoice number " * 3 + "INV-0000002 with your payment").split("\n")[-1]


def test_a_date_is_never_split_across_lines() -> None:
    # Given a text template whose date falls at the end of a line (it would break after "16")
    template = (
        default_renderer()
        .environment("en-GB")
        .from_string(
            "{% autoescape false %}" + "word " * 14 + "on {{ day|date }}.{% endautoescape %}"  # as a .txt template
        )
    )
    text = wrap_text(template.render(day=date(2026, 2, 16)))
    # Then the date is whole on one line, and plain spaces again
    assert text.split("\n")[-1] == "16 February 2026." and len(text.split("\n")) == 2
    assert wrap_text("word " * 14 + "on 16 February 2026.").split("\n")[0].endswith("on 16")


def test_wrapping_is_idempotent_and_keeps_right_to_left_marks() -> None:
    text = render("invoice", preview_context("invoice", Settings()), "he-IL").text
    assert wrap_text(text) == text
    lines = [line for line in text.splitlines() if line.strip() and line != "-- "]
    assert lines and all(line.startswith(RLM) for line in lines)


def test_korean_wraps_between_words_only() -> None:
    text = "청구서에 기재된 송금 정보로 계좌 이체해 주십시오. 결제 시 반드시 청구서 번호를 기재해 주십시오. " * 3
    lines = wrap_text(text.strip()).split("\n")
    assert len(lines) > 1 and " ".join(lines) == text.strip()


@given(st.text(alphabet="ab  c.,(-éßжά\u00a0", max_size=60), st.integers(min_value=1, max_value=30))
def test_text_that_breaks_at_spaces_only_splits_where_the_character_rule_splits_it(text: str, room: int) -> None:
    # The fast path (Latin, Cyrillic, Greek ... lines) gives exactly what the general rule gives.
    assert _breaks_at_spaces_only(text)
    assert _split_at_spaces(text, room) == _split_chars(text, room)


def test_wide_hangul_and_isolated_text_takes_the_character_rule() -> None:
    assert not _breaks_at_spaces_only("請求書 INV-1")
    assert not _breaks_at_spaces_only("청구서 INV-1")
    assert not _breaks_at_spaces_only("\u200fفاتورة \u2068INV-1\u2069")
