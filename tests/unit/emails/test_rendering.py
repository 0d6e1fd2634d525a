"""Rendering emails with the real templates and catalogs, and keeping the catalogs complete."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from tests.support.examples import ELS, compute_line, contract_invoice
from tests.support.paths import ROOT
from tests.support.plain_text import unwrapped
from worker.data.countries import invoice_payment_options
from worker.domain.locales import SUPPORTED_LOCALES, catalog_language
from worker.domain.model import Contact
from worker.emails.kinds import KINDS as REGISTERED_KINDS
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, Renderer, render
from worker.settings import Settings

PROJECT_ROOT = ROOT
POT_PATH = DEFAULT_LOCALES_DIR / "messages.pot"
PO_PATHS = sorted(DEFAULT_LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
KINDS = sorted(p.name for p in DEFAULT_TEMPLATES_DIR.iterdir() if p.is_dir() and p.name[0] != "_")

# Anything that opens an HTML tag, comment or doctype.
HTML_TAG = re.compile(r"<\s*[/!]?\s*[a-zA-Z]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]")


def invoice_context(**overrides: Any) -> dict[str, Any]:
    invoice = contract_invoice(**overrides)
    return {"invoice": invoice, "recipient": ELS, "payment": invoice_payment_options(invoice)}


def first_contract_invoice_context() -> dict[str, Any]:
    """Invoice 1 of the contract example: Compute, 1 Jan - 31 Dec 2026, USD 24,000.00 + tax."""
    return invoice_context(
        number="INV-2026-000001",
        issued_on=date(2026, 1, 16),
        due_on=date(2026, 2, 15),
        lines=(compute_line(),),
    )


#: One example context per registered email kind: its preview fixture's, the invoice's built here.
EXAMPLE_CONTEXTS: dict[str, Callable[[], dict[str, Any]]] = {
    **{name: partial(preview_context, name, Settings()) for name in REGISTERED_KINDS},
    "invoice": invoice_context,
}


# --- the invoice email ------------------------------------------------------------------------


def test_an_invoice_in_dutch_has_dutch_words_amounts_and_dates() -> None:
    # Given invoice 1 of the contract example, when rendered in nl-NL
    email = render("invoice", first_contract_invoice_context(), "nl-NL")

    # Then both parts are Dutch, with Dutch number and long date formats (HTML as a reader sees it)
    for part in (email.text, _html_text(email.html)):
        assert "Factuur INV-2026-000001" in part
        assert "Factuurdatum" in part and "Vervaldatum" in part
        assert "24.000,00" in part and "5.040,00" in part and "29.040,00" in part
        assert "1 januari 2026 – 31 december 2026" in part
        assert "16 januari 2026" in part and "15 februari 2026" in part
        assert "21%" in part
    # And the number to quote is one unbreakable piece in HTML ("INV-" never ends a line)
    assert "Vermeld bij uw betaling altijd het factuurnummer INV-2026-000001" in unwrapped(email.text)
    assert 'factuurnummer <span style="white-space:nowrap">INV-2026-000001</span>' in _visible_spaces(email.html)
    assert email.subject == "Factuur INV-2026-000001 voor Acme B.V."
    assert (email.kind, email.locale) == ("invoice", "nl-NL")


def test_an_invoice_in_us_english_has_us_amounts_and_dates() -> None:
    email = render("invoice", first_contract_invoice_context(), "en-US")

    for part in (email.text, _html_text(email.html)):
        assert "Invoice INV-2026-000001" in part
        assert "$24,000.00" in part and "$29,040.00" in part
        assert "January 1, 2026 – December 31, 2026" in part
    assert "Always quote the invoice number INV-2026-000001" in unwrapped(email.text)
    assert 'invoice number <span style="white-space:nowrap">INV-2026-000001</span>' in _visible_spaces(email.html)
    assert email.subject == "Invoice INV-2026-000001 for Acme B.V."


def test_an_invoice_in_british_english_writes_the_day_first() -> None:
    email = render("invoice", first_contract_invoice_context(), "en-GB")

    assert "1 January 2026 – 31 December 2026" in email.text
    assert "US$24,000.00" in email.text


def test_the_co_termed_invoice_shows_the_shorter_period_and_prorated_amount() -> None:
    # Given invoice 2 (Fusion ERP, activated 1 February), when rendered in Dutch
    email = render("invoice", invoice_context(), "nl-NL")

    assert "1 februari 2026 – 31 december 2026" in email.text
    assert "22.000,00" in email.text and "4.620,00" in email.text and "26.620,00" in email.text


def test_the_subject_is_one_line() -> None:
    # Given an account name with line breaks in it
    email = render("invoice", invoice_context(account_name="Acme\r\nB.V.\n"), "en-US")

    assert email.subject == "Invoice INV-2026-000002 for Acme B.V."


def test_the_text_part_has_no_html() -> None:
    for locale in SUPPORTED_LOCALES:
        email = render("invoice", invoice_context(), locale)
        assert not HTML_TAG.search(email.text), email.text
        assert email.text.endswith("\n") and not email.text.endswith("\n\n")


def test_the_html_part_is_compiled_from_mjml_with_the_lines_table() -> None:
    email = render("invoice", invoice_context(), "nl-NL")

    assert email.html.startswith("<!doctype html>")
    assert "<html" in email.html and "<mj-" not in email.html
    assert '<html lang="nl-NL" dir="ltr"' in email.html
    assert "<title>Factuur INV-2026-000002 voor Acme B.V.</title>" in email.html
    assert re.search(r"<th [^>]*>Omschrijving</th>", email.html)
    assert re.search(r"<td [^>]*>\s*Fusion ERP — order O-1<br", email.html)


def test_customer_supplied_strings_are_escaped_in_html_but_not_in_text() -> None:
    # Given customer-supplied strings that look like markup
    context = {
        **invoice_context(
            lines=(compute_line(product="<script>alert(1)</script>"),),
            account_name="Smith & <b>Sons</b>",
            po_number='PO-"77"',
        ),
        "recipient": Contact(name="<img src=x onerror=alert(2)>", email="x@example.com"),
    }

    email = render("invoice", context, "en-US")

    # Then the HTML shows them as text, never as markup
    assert "<script>" not in email.html and "<img src=x" not in email.html
    assert "<b>Sons" not in email.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "Smith &amp; &lt;b&gt;Sons&lt;/b&gt;" in email.html
    assert "PO-&#34;77&#34;" in email.html
    # And the text part and subject (plain text) keep them verbatim
    assert "<script>alert(1)</script> — order O-1" in email.text
    assert email.subject == "Invoice INV-2026-000002 for Smith & <b>Sons</b>"


def test_the_po_number_is_shown_as_purchase_order() -> None:
    email = render("invoice", invoice_context(po_number="PO-77"), "en-US")

    assert "Purchase order: PO-77" in email.text
    assert re.search(r">Purchase order</td>\s*<td [^>]*>PO-77</td>", email.html)
    assert "POEF-1" not in email.text + email.html


def test_without_a_po_number_the_poef_1_reference_is_shown() -> None:
    email = render("invoice", invoice_context(po_number=None), "nl-NL")

    assert "Referentie: POEF-1" in email.text
    assert re.search(r">Referentie</td>\s*<td [^>]*>POEF-1</td>", email.html)
    assert "Inkoopordernummer" not in email.text + email.html


def test_the_order_number_is_in_every_line_description() -> None:
    lines = (compute_line(), compute_line(line_id="L3", order_id="O-2", product="Storage"))
    email = render("invoice", invoice_context(lines=lines), "nl-NL")

    for description in ("Compute — order O-1", "Storage — order O-2"):
        assert description in email.text and description in email.html


def test_a_tax_rate_with_decimals_keeps_them() -> None:
    line = compute_line(tax_rate=Decimal("0.055"), tax=Decimal("1320.00"))
    email = render("invoice", invoice_context(lines=(line,)), "nl-NL")

    assert "Btw-tarief: 5,5%" in email.text


def test_an_invoice_without_account_name_still_reads_well() -> None:
    email = render("invoice", invoice_context(account_name=""), "en-US")

    assert email.subject == "Invoice INV-2026-000002"
    assert "Here is invoice INV-2026-000002, dated February 1, 2026." in email.text
    assert " for ." not in email.text + email.html


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_template_renders_in_every_supported_locale(kind: str, locale: str) -> None:
    assert kind in EXAMPLE_CONTEXTS, f"add an example context for email kind {kind!r}"

    email = render(kind, EXAMPLE_CONTEXTS[kind](), locale)

    assert email.subject and "\n" not in email.subject
    assert email.text.strip() and not HTML_TAG.search(email.text)
    assert f'<html lang="{locale}"' in email.html


def test_a_right_to_left_language_mirrors_the_layout(tmp_path: Path) -> None:
    # Given a renderer that supports Arabic and English side by side
    renderer = Renderer(DEFAULT_TEMPLATES_DIR, _copy_locales(tmp_path), supported_locales=("ar", "en-US"))

    rtl = renderer.render("invoice", invoice_context(), "ar")
    ltr = renderer.render("invoice", invoice_context(), "en-US")

    assert '<html lang="ar" dir="rtl"' in rtl.html and "direction:rtl" in rtl.html
    assert "text-align:right" in rtl.html
    assert "direction:rtl" not in ltr.html


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["hu-HU", "xx-YY", "nl_NL", ""])
def test_a_locale_that_is_not_supported_is_refused(locale: str) -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        render("invoice", invoice_context(), locale)


@pytest.mark.parametrize("kind", ["no_such_kind", "../invoice", "_base", "Invoice", ""])
def test_a_kind_without_templates_raises_lookup_error(kind: str) -> None:
    with pytest.raises(LookupError, match="no email template for kind"):
        render(kind, invoice_context(), "en-US")


def test_a_context_missing_a_variable_is_an_error_not_a_blank() -> None:
    with pytest.raises(jinja2.UndefinedError):
        render("invoice", {"invoice": contract_invoice()}, "en-US")


# --- caching and catalogs -------------------------------------------------------------------


def test_templates_compile_once_per_locale(tmp_path: Path) -> None:
    # Given a renderer that has rendered an invoice once
    templates_dir = tmp_path / "email"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, templates_dir)
    renderer = Renderer(templates_dir, _copy_locales(tmp_path))
    first = renderer.render("invoice", invoice_context(), "en-US")

    # When the template file changes afterwards
    (templates_dir / "invoice" / "subject.txt").write_text("changed", encoding="utf-8")

    # Then the same locale keeps the compiled template, a new locale reads the file
    assert renderer.render("invoice", invoice_context(), "en-US").subject == first.subject
    assert renderer.render("invoice", invoice_context(), "en-GB").subject == "changed"


def test_the_renderer_reads_the_catalogs_as_written_and_writes_nothing(tmp_path: Path) -> None:
    # Given a copy of the catalogs, one of them edited
    locales_dir = _copy_locales(tmp_path)
    po_path = locales_dir / "nl" / "LC_MESSAGES" / "messages.po"
    po_path.write_text(
        po_path.read_text(encoding="utf-8").replace('"Factuurdatum"', '"Datum van de factuur"'),
        encoding="utf-8",
    )
    before = sorted(p.relative_to(locales_dir) for p in locales_dir.rglob("*"))

    # When a renderer renders from them, then the text is the edited catalog's
    email = Renderer(DEFAULT_TEMPLATES_DIR, locales_dir).render("invoice", invoice_context(), "nl-NL")
    assert "Datum van de factuur: 1 februari 2026" in email.text

    # And nothing was written beside the catalogs (no compiled .mo in a source tree or site-packages)
    assert sorted(p.relative_to(locales_dir) for p in locales_dir.rglob("*")) == before


def test_the_messages_pot_is_up_to_date(tmp_path: Path) -> None:
    # Given the messages extracted now with the documented command (locales/README.md)
    fresh_pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
            "--ignore-dirs=.*", "--no-wrap", "-o", str(fresh_pot), ".",
        ],
        cwd=PROJECT_ROOT, check=True, capture_output=True,
    )  # fmt: skip

    # Then the committed template holds exactly the same messages
    fresh, committed = _message_keys(_read_po(fresh_pot)), _message_keys(_read_po(POT_PATH))
    assert fresh == committed, (
        f"locales/messages.pot is stale; re-extract (see locales/README.md). "
        f"Missing: {sorted(map(str, fresh - committed))}; gone: {sorted(map(str, committed - fresh))}"
    )


def test_the_shared_base_templates_are_extracted() -> None:
    # Babel skips "_" directories unless told otherwise: make sure _base is in the template.
    locations = {path for message in _read_po(POT_PATH) for path, _ in message.locations}
    assert "templates/email/_base/base.mjml" in locations
    assert "templates/email/_base/base.txt" in locations


def test_every_supported_locale_has_a_catalog() -> None:
    catalogs = {path.parent.parent.name for path in PO_PATHS}
    assert {catalog_language(locale) for locale in SUPPORTED_LOCALES} <= catalogs


@pytest.mark.parametrize("po_path", PO_PATHS, ids=lambda p: p.parent.parent.name)
def test_every_catalog_translates_every_message(po_path: Path) -> None:
    catalog = _read_po(po_path)
    expected = _message_keys(_read_po(POT_PATH))

    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    assert expected <= _message_keys(catalog), f"run pybabel update: {po_path}"
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated in {po_path.name}: {message.id!r}"
        assert not message.fuzzy, f"fuzzy in {po_path}: {message.id!r}"


@pytest.mark.parametrize("po_path", PO_PATHS, ids=lambda p: p.parent.parent.name)
def test_translations_keep_the_placeholders_of_the_msgid(po_path: Path) -> None:
    for message in _read_po(po_path):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = {name for msgid in ids for name in PLACEHOLDER.findall(msgid)}
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, (po_path.name, message.id, string)


# --- helpers --------------------------------------------------------------------------------


def _copy_locales(tmp_path: Path) -> Path:
    """Copy the real catalogs (without compiled .mo files) so a test may compile or edit them."""
    locales_dir = tmp_path / "locales"
    shutil.copytree(DEFAULT_LOCALES_DIR, locales_dir, ignore=shutil.ignore_patterns("*.mo"))
    return locales_dir


def _html_text(markup: str) -> str:
    """The HTML part's text without its tags (the nowrap spans around numbers and dates)."""
    return re.sub(r"<[^>]+>", "", _visible_spaces(markup))


def _visible_spaces(html: str) -> str:
    """Return ``html`` with no-break spaces (which keep dates and amounts on one line) as spaces."""
    return html.replace("\xa0", " ")


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file)


def _message_keys(catalog: Catalog) -> set[tuple[Any, str | None]]:
    return {(message.id, message.context) for message in catalog if message.id}


@pytest.mark.parametrize("locale", ["en-US", "ar", "ja-JP"])
def test_the_plain_text_signature_starts_at_an_rfc_3676_separator(locale: str) -> None:
    # Given any email in any direction
    rendered = render("invoice", REGISTERED_KINDS["invoice"].preview_context(), locale)
    # Then the footer is set off by "-- " alone on its line, which mail clients recognise
    assert "\n-- \n" in rendered.text
