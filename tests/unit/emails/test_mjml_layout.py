"""MJML runs once per (kind, locale), before the per-email Jinja: the emails read as when MJML ran on every email."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jinja2
import mjml
import pytest

from worker.domain.locales import SUPPORTED_LOCALES
from worker.domain.model import Contact
from worker.emails import mjml_layout
from worker.emails.kinds import KINDS
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, Renderer
from worker.settings import Settings

#: Customer-supplied text that looks like markup and like template code.
HOSTILE = "<script>alert(\"x\")</script> & 'q' {{ 7*7 }} {% if %} é"


def hostile_context(kind: str) -> dict[str, Any]:
    """The kind's preview context with the hostile text in every customer-supplied string."""
    context = dict(preview_context(kind, Settings()))
    context["recipient"] = Contact(HOSTILE, "x@example.com")
    if kind == "invoice":
        invoice = context["invoice"]
        lines = tuple(dataclasses.replace(line, product=HOSTILE) for line in invoice.lines)
        context["invoice"] = dataclasses.replace(invoice, account_name=HOSTILE, po_number=HOSTILE, lines=lines)
    if kind == "bounce_notice":
        context.update(account_name=HOSTILE, bounced_address=HOSTILE)
    return context


def built_per_email(renderer: Renderer, kind: str, locale: str, context: dict[str, Any], subject: str) -> str:
    """The HTML as built before: the layout's MJML rendered by Jinja for this email, then MJML."""
    environment = renderer.environment(locale)
    layout = environment.loader.layout(f"{kind}/body.mjml")  # type: ignore[union-attr]
    per_email = environment.overlay(loader=jinja2.DictLoader({"email.mjml": layout})).get_template("email.mjml")
    return mjml.mjml2html(per_email.render({**context, "subject": subject}))


def mjml_title_escapes_undone(html: str) -> str:
    # MJML copies a title with non-ASCII text into aria-label as Rust escapes ("\u{a0}"): a
    # screen reader would read them out. Built once, the label holds the subject itself.
    return re.sub(r"\\u\{([0-9a-f]+)\}", lambda match: chr(int(match.group(1), 16)), html)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(DEFAULT_TEMPLATES_DIR, DEFAULT_LOCALES_DIR)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_html_is_what_mjml_built_from_each_email(renderer: Renderer, kind: str, locale: str) -> None:
    for context in (preview_context(kind, Settings()), hostile_context(kind)):
        # When an email is rendered from the HTML MJML built once for the kind and locale
        email = renderer.render(kind, context, locale)

        # Then it is the HTML that MJML builds from that very email
        assert email.html == mjml_title_escapes_undone(built_per_email(renderer, kind, locale, context, email.subject))


def test_customer_text_is_escaped_and_never_run_as_template_code(renderer: Renderer) -> None:
    email = renderer.render("invoice", hostile_context("invoice"), "en-US")

    assert (
        "<script>" not in email.html
        and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;" in email.html
    )
    assert "{{ 7*7 }} {% if %}" in email.html


def test_the_screen_reader_label_is_the_subject_as_written(renderer: Renderer) -> None:
    email = renderer.render("invoice", preview_context("invoice", Settings()), "ar")

    assert f'aria-label="{email.subject}"' in email.html and "\\u{" not in email.html


def test_mjml_runs_once_per_kind_and_locale_not_per_email(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a fresh renderer that counts MJML runs
    runs = []
    monkeypatch.setattr(
        mjml_layout.mjml, "mjml2html", lambda source, _build=mjml.mjml2html: runs.append(1) or _build(source)
    )
    renderer = Renderer(DEFAULT_TEMPLATES_DIR, DEFAULT_LOCALES_DIR)
    context = preview_context("invoice", Settings())

    # When three invoices are rendered in one locale and one in another
    for locale in ("en-US", "en-US", "en-US", "nl-NL"):
        renderer.render("invoice", context, locale)

    # Then MJML ran once for each locale
    assert len(runs) == 2


def test_layout_tags_are_comments_to_ordinary_jinja() -> None:
    # Gettext extraction and the per-email pass use ordinary Jinja: the layout must be invisible there.
    source = 'a{#% block content %#}b{#% endblock %#}{#= align_start =#}{{ _("c") }}'

    layout = mjml_layout.layout_environment(jinja2.DictLoader({"t.mjml": source})).get_template("t.mjml")
    assert layout.render(align_start="left") == 'ableft{{ _("c") }}'
    assert jinja2.Environment().from_string(source).render(_=str.upper) == "abC"
