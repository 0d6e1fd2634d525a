"""Every email kind in every supported locale: translated, formatted by CLDR, and laid out in the
locale's direction. The locales and kinds come from the code (SUPPORTED_LOCALES, the template
directories), so a new locale or kind is covered without touching this file."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import pytest
from babel.dates import format_date, format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_percent

from worker.domain.locales import SUPPORTED_LOCALES, babel_locale, catalog_language
from worker.domain.model import RenderedEmail
from worker.emails.bidi import RLM
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, render
from worker.settings import Settings

KINDS = sorted(p.name for p in DEFAULT_TEMPLATES_DIR.iterdir() if p.is_dir() and p.name[0] != "_")
HTML_TAG = re.compile(r"<\s*[/!]?\s*[a-zA-Z]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]")
#: English fragments shorter than this may legitimately appear in any language ("IBAN", "PayPal").
MIN_ENGLISH_FRAGMENT = 13
# Bidi controls the renderer adds for right-to-left text (isolates, marks): invisible to a reader.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069"), None)


def right_to_left(locale: str) -> bool:
    return babel_locale(locale).character_order == "right-to-left"


@cache
def rendered(kind: str, locale: str) -> tuple[dict[str, Any], RenderedEmail]:
    context = preview_context(kind, Settings())
    return context, render(kind, context, locale)


def visible(text: str) -> str:
    """What a reader sees: HTML entities resolved, no-break spaces as spaces, no bidi controls."""
    return html.unescape(text).replace("\xa0", " ").replace("\u202f", " ").translate(BIDI_CONTROLS)


def html_text(markup: str) -> str:
    """The visible text of the HTML part (head, styles and tags dropped)."""
    body = markup.split("<body", 1)[-1]
    body = re.sub(r"<style.*?</style>", " ", body, flags=re.S)
    return visible(re.sub(r"<[^>]+>", " ", body))


@lru_cache(maxsize=1)
def english_fragments() -> frozenset[str]:
    """The literal parts (between placeholders) of every English message, long enough to matter."""
    with (DEFAULT_LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalog = read_po(po_file)
    fragments = set()
    for message in catalog:
        if not message.id:
            continue
        texts = [*_forms(message.id), *_forms(message.string)]
        for text in texts:
            for part in PLACEHOLDER.split(text):
                part = part.strip(" ,.:;—–")
                if len(part) >= MIN_ENGLISH_FRAGMENT:
                    fragments.add(part)
    return frozenset(fragments)


def _forms(text: str | tuple[str, ...]) -> tuple[str, ...]:
    """A message's text, or each of a plural message's forms."""
    return text if isinstance(text, tuple) else (text,)


def expected_formats(kind: str, context: dict[str, Any], locale: str) -> list[str]:
    """Amounts, dates and percentages of the example, formatted by Babel for ``locale``."""
    cldr = babel_locale(locale)

    def money(amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=cldr)

    def day(value: date | datetime) -> str:
        return format_date(value, format="long", locale=cldr)

    if kind == "invoice":
        invoice = context["invoice"]
        lines = [money(line.amount, invoice.currency) for line in invoice.lines]
        rates = [format_percent(line.tax_rate, locale=cldr, decimal_quantization=False) for line in invoice.lines]
        return [money(invoice.total, invoice.currency), money(invoice.tax_total, invoice.currency),
                day(invoice.issued_on), day(invoice.due_on), *lines, *rates]  # fmt: skip
    if kind == "card_failed":
        notice = context["notice"]
        return [money(notice.amount, notice.currency), day(notice.failed_at)]
    if kind == "rewards_code":
        notice = context["notice"]
        month = format_skeleton("yMMMM", notice.accrued_on, locale=cldr)
        return [money(notice.amount, notice.currency), day(notice.expires_on), month]
    if kind == "redemption":
        notice = context["notice"]
        return [money(notice.amount, notice.currency), money(notice.cumulative_redeemed, notice.currency),
                money(notice.remaining_due, notice.currency), day(notice.redeemed_at)]  # fmt: skip
    if kind == "bounce_notice":
        return [day(context["reported_on"])]
    if kind == "payment_received":
        notice = context["notice"]
        return [money(notice.amount, notice.currency), money(notice.balance, notice.currency),
                money(notice.invoice_total, notice.currency), day(notice.received_at)]  # fmt: skip
    if kind in ("payment_reminder", "overdue_reminder"):
        notice = context["notice"]
        return [money(notice.balance, notice.currency), day(notice.due_on), day(notice.issued_on)]
    if kind == "credit_note":
        note, notice = context["invoice"], context["notice"]
        return [money(note.total, note.currency), money(notice.paid, note.currency), day(notice.credited_issued_on)]
    raise AssertionError(f"say which amounts and dates email kind {kind!r} shows")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_locale_as_one_subject_line_and_plain_text(kind: str, locale: str) -> None:
    # Given the preview example of a kind, when rendered in a supported locale
    _, email = rendered(kind, locale)

    # Then the subject is one line, the text part holds no HTML and the HTML names the locale
    assert email.subject.strip() and not re.search(r"[\r\n]", email.subject)
    assert email.text.strip() and not HTML_TAG.search(email.text), email.text
    assert "&lt;" not in email.text and "&amp;" not in email.text
    assert f'<html lang="{locale}"' in email.html


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if not loc.startswith("en")])
@pytest.mark.parametrize("kind", KINDS)
def test_no_english_text_is_left_in_another_language(kind: str, locale: str) -> None:
    _, email = rendered(kind, locale)

    for part_name, part in (
        ("subject", visible(email.subject)),
        ("text", visible(email.text)),
        ("html", html_text(email.html)),
    ):
        left = sorted(fragment for fragment in english_fragments() if fragment in part)
        assert not left, f"{kind} in {locale}, {part_name}: English left: {left}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_english_check_finds_english_text(kind: str) -> None:
    # The check above must be able to fail: the English email itself is full of the fragments.
    _, email = rendered(kind, "en-US")
    assert sum(fragment in visible(email.text) for fragment in english_fragments()) >= 3


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_amounts_and_dates_are_in_the_locale_format(kind: str, locale: str) -> None:
    context, email = rendered(kind, locale)

    for expected in expected_formats(kind, context, locale):
        # Babel's own marks (Arabic amounts start with RLM) are kept: compare what a reader sees.
        expected = visible(expected)
        assert expected in visible(email.text), (kind, locale, expected)
        assert expected in html_text(email.html), (kind, locale, expected)


def test_german_and_dutch_place_the_currency_as_cldr_says() -> None:
    # Given the invoice example (USD) rendered in German and Dutch
    context, german = rendered("invoice", "de-DE")
    _, dutch = rendered("invoice", "nl-NL")

    # Then German writes the symbol after the amount, Dutch before it
    assert "26.620,00 $" in visible(german.text)
    assert "US$ 26.620,00" in visible(dutch.text)
    assert format_currency(Decimal("21420"), "EUR", locale="de_DE").replace("\xa0", " ") == "21.420,00 €"


@pytest.mark.parametrize("kind", KINDS)
def test_right_to_left_emails_are_right_to_left_in_html_and_text(kind: str) -> None:
    for locale in SUPPORTED_LOCALES:
        _, email = rendered(kind, locale)
        if not right_to_left(locale):
            assert 'dir="ltr"' in email.html and "direction:rtl" not in email.html
            assert not email.text.startswith(RLM)
            continue
        # The HTML is right-to-left and its start alignment is mirrored
        assert f'<html lang="{locale}" dir="rtl"' in email.html
        assert "direction:rtl" in email.html and "text-align:right" in email.html
        # Every line of the text part opens with a right-to-left mark, so plain-text clients
        # lay out lines that start with a number or a Latin name right-to-left too; all but the
        # signature separator "-- ", which clients recognise only as it is (RFC 3676)
        lines = [line for line in email.text.splitlines() if line.strip() and line != "-- "]
        assert lines and all(line.startswith(RLM) for line in lines)
        assert "\n-- \n" in email.text


def test_left_to_right_values_keep_their_shape_inside_arabic_sentences() -> None:
    # Given the invoice example in Arabic
    context, email = rendered("invoice", "ar")
    invoice = context["invoice"]

    # Then the account name and invoice number are isolated (FSI ... PDI) inside the sentences,
    # and every amount ends with an LRM so "US$" is not shown as "$US"
    assert f"\u2068{invoice.account_name}\u2069" in email.text
    assert f"\u2068{invoice.number}\u2069" in email.text
    total = format_currency(invoice.total, invoice.currency, locale="ar")
    assert total + "\u200e" in email.text and total + "\u200e" in html.unescape(email.html)


# --- the catalogs -----------------------------------------------------------------------------


def _catalog(language: str) -> Catalog:
    with (DEFAULT_LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return read_po(po_file)


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if not loc.startswith("en")])
def test_no_long_message_is_copied_untranslated(locale: str) -> None:
    # A msgstr equal to its (long) msgid is an English sentence that slipped through as "done".
    copied = [
        m.id
        for m in _catalog(catalog_language(locale))
        if m.id and len(PLACEHOLDER.sub("", _forms(m.id)[0]).strip()) >= MIN_ENGLISH_FRAGMENT and m.string == m.id
    ]
    assert not copied, f"{locale}: copied untranslated: {copied}"
