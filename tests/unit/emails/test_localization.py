"""Localized like a native: the recipient's own formats, plural rules that are CLDR's, and no
grammar a placeholder's value can break (rendered with names and months that start with a vowel
and with a consonant, in every kind and every supported locale)."""

from __future__ import annotations

import dataclasses
import gettext
import re
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from tests.support.plain_text import unwrapped
from worker.data.countries import invoice_payment_options
from worker.domain.card_numbers import REDACTED_CARD
from worker.domain.locales import CATALOGS, SUPPORTED_LOCALES, babel_locale, catalog_language, choose_locale
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, locale_filters, render
from worker.settings import Settings

KINDS = sorted(p.name for p in DEFAULT_TEMPLATES_DIR.iterdir() if p.is_dir() and p.name[0] != "_")
PO_PATHS = sorted(DEFAULT_LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
CLDR_ORDER = ("zero", "one", "two", "few", "many", "other")

#: Values that start (and end) with a vowel, and with a consonant: the two sides of every trap.
VOWEL = {"account": "Orange Business Ea", "name": "Anna Ek", "month": date(2026, 10, 31)}
CONSONANT = {"account": "Bol.com", "name": "Jan Jansen", "month": date(2026, 3, 31)}
CJK = r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"
KOREAN_PARTICLE = r"['’”」]?(?:을|를|은|는|이|가|과|와|으로|로)(?![가-힣])"
# Words French elides before a vowel ("si" only before "il": "s'il", but "si elle").
FRENCH_ELIDING = re.compile(
    r"\b(?:de|que|le|la|ce|ne|se|je)\s+(?=[AEIOUYÀÂÉÈÊËÎÏÔÛaeiouyàâéèêëîïôû])|\bsi\s+(?=ils?\b)"
)


# --- plural forms -------------------------------------------------------------------------------


@cache
def _catalog(po_path: Path) -> Any:
    with po_path.open("rb") as po_file:
        return read_po(po_file, locale=po_path.parent.parent.name)


@pytest.mark.parametrize("po_path", PO_PATHS, ids=lambda p: p.parent.parent.name)
def test_every_plural_forms_header_agrees_with_cldr(po_path: Path) -> None:
    # Given a catalog's Plural-Forms header and CLDR's plural rule for its language
    catalog = _catalog(po_path)
    header = gettext.c2py(catalog.plural_expr)
    cldr = Locale.parse(po_path.parent.parent.name).plural_form
    # When every day count an invoice can name is classified by both
    pairs = {(header(n), cldr(n)) for n in range(1001)}
    # Then each gettext form is exactly one CLDR category, in CLDR's order, and none is unused
    forms = {form for form, _ in pairs}
    categories = {category for _, category in pairs}
    assert len(pairs) == len(forms) == len(categories) == catalog.num_plurals, sorted(pairs)
    assert sorted(pairs) == sorted(pairs, key=lambda pair: CLDR_ORDER.index(pair[1])), sorted(pairs)


@pytest.mark.parametrize("po_path", PO_PATHS, ids=lambda p: p.parent.parent.name)
def test_every_plural_message_has_a_form_for_each_plural_category(po_path: Path) -> None:
    catalog = _catalog(po_path)
    for message in catalog:
        if message.id and isinstance(message.id, tuple):
            assert len(message.string) == catalog.num_plurals and all(message.string), message.id


def test_the_plural_check_catches_arabic_forms_swapped() -> None:
    # The header Arabic had before: forms 4 (many) and 5 (other) swapped.
    swapped = gettext.c2py("n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=0 && n%100<=2 ? 4 : 5")
    pairs = {(swapped(n), Locale.parse("ar").plural_form(n)) for n in range(1001)}
    assert sorted(pairs) != sorted(pairs, key=lambda pair: CLDR_ORDER.index(pair[1]))


@pytest.mark.parametrize(("locale", "days", "expected"), [
    ("pl-PL", 1, "1 dzień"), ("pl-PL", 2, "2 dni"), ("pl-PL", 5, "5 dni"),
    ("cs-CZ", 1, "1 den"), ("cs-CZ", 3, "3 dny"), ("cs-CZ", 30, "30 dní"),
    ("en-US", 1, "net 1 day from"), ("en-US", 30, "net 30 days from"),
    ("de-DE", 1, "1 Tag netto"), ("de-DE", 14, "14 Tage netto"),
])  # fmt: skip
def test_payment_terms_take_the_plural_form_of_the_day_count(locale: str, days: int, expected: str) -> None:
    # Given an invoice due `days` after its issue date, when rendered
    context = preview_context("invoice", Settings())
    invoice = context["invoice"]
    context["invoice"] = dataclasses.replace(invoice, due_on=date.fromordinal(invoice.issued_on.toordinal() + days))
    email = render("invoice", context, locale)
    # Then the terms read in the plural form the number asks for
    assert expected in unwrapped(email.text)


# --- formats in the recipient's own locale ------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "country", "currency", "total", "day"),
    [
        ("en-IN", "en-IN", "INR", "₹21,24,000.00", "1 February 2026"),
        (None, "de-CH", "CHF", "CHF 2'124'000.00", "1. Februar 2026"),
        (None, "es-AR", "ARS", "$2.124.000,00", "1 de febrero de 2026"),
        (None, "pt-PT", "EUR", "2 124 000,00 €", "1 de fevereiro de 2026"),
        ("fr-CA", "en-CA", "CAD", "2 124 000,00 $", "1 février 2026"),
    ],
)
def test_indian_swiss_argentinian_portuguese_and_canadian_french_readers_get_their_own_formats(
    contact: str | None, country: str, currency: str, total: str, day: str
) -> None:
    # Given an invoice of 2,124,000.00 to a reader of that country
    locale = choose_locale(contact, country)
    context = preview_context("invoice", Settings())
    invoice = context["invoice"]
    line = dataclasses.replace(invoice.lines[0], amount=Decimal("2124000.00"), tax=Decimal(0), tax_rate=Decimal(0))
    context["invoice"] = dataclasses.replace(invoice, currency=currency, lines=(line,), issued_on=date(2026, 2, 1))
    # When rendered in the chosen locale
    email = render("invoice", context, locale)
    text = unwrapped(email.text).replace("\xa0", " ").replace("\u202f", " ")
    # Then amounts and dates are in the reader's own CLDR locale, not the catalog's default one
    assert total in text and day in text, (locale, total, day)


def test_a_swiss_reader_reads_german_with_swiss_formats() -> None:
    assert choose_locale(None, "de-CH") == "de-CH" and catalog_language("de-CH") == "de"
    assert locale_filters("de-CH")["money"](Decimal("19458"), "CHF").replace("\xa0", " ") == "CHF 19'458.00"
    assert locale_filters("de-DE")["money"](Decimal("19458"), "CHF").replace("\xa0", " ") == "19.458,00 CHF"


def test_us_readers_get_american_spelling_and_others_british() -> None:
    context = preview_context("card_failed", Settings())
    american, british = render("card_failed", context, "en-US"), render("card_failed", context, "en-IN")
    assert "authorized" in unwrapped(american.text) and "authorised" not in american.text
    assert "authorised" in unwrapped(british.text)


@pytest.mark.parametrize("contact", ["zh-TW", "zh-HK", "zh-Hant", "zh-Hant-CN", "zh-MO"])
def test_a_traditional_chinese_reader_gets_traditional_characters(contact: str) -> None:
    locale = choose_locale(contact, "zh-CN")
    email = render("invoice", preview_context("invoice", Settings()), locale)
    assert "發票" in email.text and "发票" not in email.text


def test_there_are_at_least_twenty_catalogs_two_of_them_right_to_left() -> None:
    assert len(CATALOGS) >= 20 and {p.parent.parent.name for p in PO_PATHS} == set(CATALOGS)
    assert sum(babel_locale(locale).character_order == "right-to-left" for locale in CATALOGS.values()) >= 2


# --- placeholders that cannot break grammar -------------------------------------------------------


def varied_context(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The preview example of `kind` with the account, the recipient's name and the month replaced."""
    context = dict(preview_context(kind, Settings()))
    for key, value in list(context.items()):
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name for f in dataclasses.fields(value)}
            changes: dict[str, Any] = {}
            if "account_name" in fields:
                changes["account_name"] = values["account"]
            if "accrued_on" in fields:
                changes["accrued_on"] = values["month"]
            if "name" in fields and key == "recipient":
                changes["name"] = values["name"]
            context[key] = dataclasses.replace(value, **changes)  # type: ignore[type-var]
    if "account_name" in context:
        context["account_name"] = values["account"]
    return context


def formatted_values(kind: str, context: dict[str, Any], locale: str, values: dict[str, Any]) -> list[str]:
    """What the placeholders of the email show: the names, numbers, amounts, dates and month."""
    filters = locale_filters(locale)
    shown = [values["account"], values["name"], filters["month"](values["month"])]
    for item in context.values():
        if not dataclasses.is_dataclass(item) or isinstance(item, type):
            continue
        for field in dataclasses.fields(item):
            value = getattr(item, field.name)
            if isinstance(value, date):
                shown.append(filters["date"](value))
            elif field.name in ("number", "invoice_number"):
                shown.append(value)
            elif isinstance(value, Decimal) and hasattr(item, "currency"):
                shown.append(filters["money"](value, item.currency))
        if hasattr(item, "total") and hasattr(item, "currency"):
            shown.append(filters["money"](item.total, item.currency))
    return [value for value in shown if value]


def grammar_traps(locale: str, text: str, shown: list[str]) -> list[str]:
    """The placeholder-grammar mistakes a native reader would see in `text`."""
    language = locale.split("-", 1)[0]
    found: list[str] = []
    if language == "fr":
        found += [f"no elision: {text[m.start() : m.end() + 12]!r}" for m in FRENCH_ELIDING.finditer(text)]
    if language == "ko":
        found += [f"particle after {v!r}" for v in shown if re.search(re.escape(v) + KOREAN_PARTICLE, text)]
        found += [f"machine particle {m.group()!r}" for m in re.finditer(r"\((?:을|를|은|는|이|가|과|와|으)\)", text)]
    if language in ("ja", "zh"):
        found += ["ASCII space after 。"] if "。 " in text else []
        for v in shown:
            if re.search(re.escape(v) + " " + CJK, text) or re.search(CJK + " " + re.escape(v), text):
                found.append(f"space beside {v!r}")
    return found


@pytest.mark.parametrize("values", [VOWEL, CONSONANT], ids=["vowel", "consonant"])
@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_placeholder_breaks_the_grammar_around_it(kind: str, locale: str, values: dict[str, Any]) -> None:
    # Given an email whose account, recipient and month start with a vowel (or a consonant)
    context = varied_context(kind, values)
    # When rendered
    email = render(kind, context, locale)
    shown = formatted_values(kind, context, locale, values)
    # Then no article, particle or space around a value is wrong, in subject, text or HTML
    # (each line on its own: Chinese and Japanese lines, wrapped or not, join with no space)
    html_text = re.sub(r"<[^>]+>", "\n", re.sub(r"<(style|head)\b.*?</\1>", "", email.html, flags=re.S))
    text = email.text if locale.startswith(("ja", "zh")) else unwrapped(email.text)
    for part in (email.subject, text, re.sub(r"[ \t]+", " ", html_text)):
        assert not grammar_traps(locale, part, shown), (kind, locale, grammar_traps(locale, part, shown))


@pytest.mark.parametrize(
    ("locale", "text", "trap"),
    [
        ("fr-FR", "L’équipe facturation de Invoice Worker Cloud", "no elision"),
        ("fr-CA", "Vos Support Rewards de octobre 2026", "no elision"),
        ("fr-FR", "parce que Orange Business vous a désigné", "no elision"),
        ("ko-KR", "청구서 INV-0000001을 보내 드립니다", "particle after"),
        ("ko-KR", "US$26,620.00을(를) 결제해 주십시오", "machine particle"),
        ("ja-JP", "2026年3月3日 までにお支払いください", "space beside"),
        ("ja-JP", "お送りします。 お支払いください", "ASCII space after"),
    ],
)
def test_the_trap_check_finds_the_translators_findings(locale: str, text: str, trap: str) -> None:
    shown = ["INV-0000001", "US$26,620.00", "2026年3月3日", "Orange Business"]
    assert any(found.startswith(trap) for found in grammar_traps(locale, text, shown))


# --- country-true payment wording -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "currency", "locale", "present", "absent"),
    [
        ("DE", "EUR", "de-DE", ["Banküberweisung"], ["Scheck", "ACH"]),
        ("JP", "JPY", "ja-JP", ["銀行振込", "預金種目：普通預金", "口座番号：1234567"], ["小切手", "ACH", "Ordinary"]),
        ("US", "USD", "en-US", ["bank transfer or ACH", "send a check", "Checks to:"], ["cheque"]),
        ("CA", "CAD", "fr-CA", ["chèque", "Numéro de transit"], ["ACH"]),
    ],
)
def test_the_payment_wording_names_only_the_methods_the_country_has(
    country: str, currency: str, locale: str, present: list[str], absent: list[str]
) -> None:
    # Given an invoice booked in `country`, above the card-only limit
    context = preview_context("invoice", Settings())
    invoice = dataclasses.replace(context["invoice"], country=country, currency=currency)
    context["invoice"] = invoice
    context["payment"] = invoice_payment_options(dataclasses.replace(invoice, lines=tuple(
        dataclasses.replace(line, amount=Decimal("500000"), tax=Decimal(0)) for line in invoice.lines
    )))  # fmt: skip
    # When rendered for a reader there
    text = unwrapped(render("invoice", context, locale).text)
    # Then cheque and ACH appear only where the remittance data has them, in the local terms
    assert all(word in text for word in present), [word for word in present if word not in text]
    assert not [word for word in absent if word in text]


def test_the_decline_reason_is_the_banks_own_text_quoted_with_the_redaction_marker_translated() -> None:
    context = preview_context("card_failed", Settings())
    context["notice"] = dataclasses.replace(context["notice"], reason=f"Card {REDACTED_CARD} expired")
    text = unwrapped(render("card_failed", context, "de-DE").text)
    assert "Von der Bank angegebener Grund: „Card [Kartennummer entfernt] expired“" in text
    assert REDACTED_CARD not in text
