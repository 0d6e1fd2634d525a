"""Render one email kind in one locale: a one-line subject, a plain-text part and MJML-built HTML.

Templates live in ``templates/email/<kind>/{subject.txt, body.mjml, body.txt}`` and extend the
shared ``_base/base.mjml`` / ``_base/base.txt``. Each supported locale gets one Jinja environment
with its gettext catalog and Babel filters, built on first use and kept, so a template compiles
once per locale rather than once per email; a ``.mjml`` template is built into HTML by MJML at that
point too (worker.emails.mjml_layout), and an email only fills it in. The body templates also see
``subject`` (the rendered subject line), and every template sees the locale globals
``company_name``, ``html_lang``, ``text_direction`` (``ltr``/``rtl``), ``align_start`` and
``align_end`` (``left``/``right``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from babel.dates import format_date, format_skeleton
from babel.numbers import format_percent
from babel.support import NullTranslations
from markupsafe import Markup

from worker.domain.card_numbers import REDACTED_CARD
from worker.domain.locales import SUPPORTED_LOCALES, babel_locale, catalog_language, renderable
from worker.domain.model import RenderedEmail
from worker.emails.bidi import LRM, IsolatingTranslations, right_to_left_lines
from worker.emails.catalogs import load_translations
from worker.emails.currency_format import currency_format, format_number
from worker.emails.mjml_layout import MjmlLoader, layout_environment
from worker.emails.template_i18n import PretranslatingEnvironment
from worker.emails.text_wrap import UNBROKEN_SPACE, wrap_text
from worker.errors import TemplateMissing
from worker.resources import locales_dir, templates_dir

#: Where the email templates live: ``<kind>/{subject.txt, body.mjml, body.txt}`` and ``_base/``.
DEFAULT_TEMPLATES_DIR = templates_dir()

#: Where the gettext catalogs live: ``<lang>/LC_MESSAGES/messages.po``.
DEFAULT_LOCALES_DIR = locales_dir()

#: The sender's name as shown in every email (a brand name: never translated).
COMPANY_NAME = "Invoice Worker Cloud"

#: Languages whose sentences follow each other with no space between them.
UNSPACED_LANGUAGES = frozenset({"ja", "zh"})

#: How many distinct values each locale's format filters remember. Amounts and dates repeat
#: within an email (HTML and text part) and across the invoices of a run; Babel is slow enough
#: (~10-25 µs a date on this machine) that formatting would otherwise dominate a render.
FORMAT_CACHE_SIZE = 4096

# A kind names a template directory; anything else (dots, slashes) is refused before the loader.
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


@dataclass(frozen=True)
class _KindTemplates:
    subject: jinja2.Template
    text: jinja2.Template
    #: The HTML MJML built from body.mjml, with the per-email tags left to fill in.
    html: jinja2.Template
    right_to_left: bool


class Renderer:
    """Renders emails from one templates directory with the catalogs of one locales directory."""

    def __init__(
        self,
        templates_dir: Path,
        locales_dir: Path,
        *,
        supported_locales: Iterable[str] = SUPPORTED_LOCALES,
    ) -> None:
        self._templates_dir = Path(templates_dir)
        self._locales_dir = Path(locales_dir)
        self._supported_locales = tuple(supported_locales)
        self._environments: dict[str, jinja2.Environment] = {}
        self._templates: dict[tuple[str, str], _KindTemplates] = {}
        # One parsed catalog per language: nl-NL and nl-BE, en-US and en-GB, ... share theirs.
        self._catalogs: dict[str, NullTranslations] = {}
        # Layouts hold no translation or per-email value: one environment serves every locale.
        self._layouts = layout_environment(jinja2.FileSystemLoader(self._templates_dir))
        self._lock = threading.Lock()

    def render(self, kind: str, context: Mapping[str, Any], locale: str) -> RenderedEmail:
        """Render email ``kind`` with ``context`` in ``locale``.

        Raises ``ValueError`` for a locale that is not supported, ``TemplateMissing`` (a LookupError) when the kind
        has no templates, and ``jinja2.UndefinedError`` when the context lacks a variable.
        """
        templates = self._templates.get((kind, locale)) or self._load(kind, locale)
        subject = _LINE_BREAKS.sub(" ", templates.subject.render(context).strip()).replace(UNBROKEN_SPACE, " ")
        body_context = {**context, "subject": subject}
        text = wrap_text(_tidy_text(templates.text.render(body_context)))
        if templates.right_to_left:
            text = right_to_left_lines(text)
        # The pieces as written (fixed markup, then values): the MIME builder encodes fixed ones once.
        html_parts = tuple(templates.html.generate(body_context))
        return RenderedEmail(
            kind=kind, locale=locale, subject=subject, text=text, html="".join(html_parts), html_parts=html_parts
        )

    def warm(self) -> int:
        """Compile every kind in every supported locale now; returns how many (kind, locale)."""
        kinds = sorted(p.name for p in self._templates_dir.iterdir() if p.is_dir() and _KIND.match(p.name))
        for locale in self._supported_locales:
            for kind in kinds:
                self._templates.get((kind, locale)) or self._load(kind, locale)
        return len(kinds) * len(self._supported_locales)

    def environment(self, locale: str) -> jinja2.Environment:
        """The Jinja environment of ``locale``: its catalog, filters and values, built on first use.

        Raises ``ValueError`` for a locale that is not supported.
        """
        if locale not in self._supported_locales and not renderable(locale):
            raise ValueError(f"unsupported locale {locale!r}: no catalog for its language, or unknown to CLDR")
        with self._lock:
            environment = self._environments.get(locale)
            if environment is None:
                environment = self._environments[locale] = self._build_environment(locale)
            return environment

    def _load(self, kind: str, locale: str) -> _KindTemplates:
        environment = self.environment(locale)
        if not _KIND.match(kind):
            raise TemplateMissing(kind, locale)
        with self._lock:
            try:
                templates = _KindTemplates(
                    subject=environment.get_template(f"{kind}/subject.txt"),
                    text=environment.get_template(f"{kind}/body.txt"),
                    html=environment.get_template(f"{kind}/body.mjml"),
                    right_to_left=_right_to_left(locale),
                )
            except jinja2.TemplateNotFound as exc:
                raise TemplateMissing(kind, locale) from exc
            for template in (templates.subject, templates.text, templates.html):
                # A template's globals are a ChainMap over the environment's, copied key by key
                # into every render's context (~5% of a render); a plain dict copies at C speed.
                # The environment's globals are complete before any template loads.
                template.globals = dict(template.globals)
            self._templates[(kind, locale)] = templates
            return templates

    def _build_environment(self, locale: str) -> jinja2.Environment:
        # Constant `_("...")` calls are translated when a template compiles (once per locale).
        values = locale_values(locale)
        environment = PretranslatingEnvironment(
            loader=MjmlLoader(jinja2.FileSystemLoader(self._templates_dir), self._layouts, values),
            # HTML-escape customer-supplied strings in MJML; the text part and subject stay raw.
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("mjml", "html"), disabled_extensions=("txt",), default=False
            ),
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            # Templates are read once per process; do not stat them on every render.
            auto_reload=False,
        )
        # Same setting as `trimmed = true` in babel.cfg, so msgids match what extraction sees.
        environment.policies["ext.i18n.trimmed"] = True
        translations: NullTranslations | IsolatingTranslations
        language = catalog_language(locale)
        if language not in self._catalogs:
            self._catalogs[language] = load_translations(self._locales_dir, language)
        translations = self._catalogs[language]
        if _right_to_left(locale):
            translations = IsolatingTranslations(translations)
        environment.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        environment.translations = translations
        filters = locale_filters(locale)
        environment.filters.update(filters)
        # In the plain-text part a date or month is one unbreakable piece for the line wrapper
        # ("5 March 2026" never ends a line at "5"); HTML keeps its spaces, so narrow table
        # cells may wrap there.
        environment.filters["date"] = _text_unbreakable(filters["date"])
        environment.filters["month"] = _text_unbreakable(filters["month"])
        environment.filters["https_url"] = https_url
        environment.filters["nobreak"] = nobreak
        environment.tests["https_url"] = lambda value: bool(https_url(value))
        environment.globals.update(values)
        return environment


def locale_values(locale: str) -> dict[str, str]:
    """The values every template sees for ``locale``: company name, language and direction."""
    right_to_left = _right_to_left(locale)
    return {
        "company_name": COMPANY_NAME,
        "html_lang": locale,
        "text_direction": "rtl" if right_to_left else "ltr",
        "align_start": "right" if right_to_left else "left",
        "align_end": "left" if right_to_left else "right",
        # Chinese and Japanese put no space between sentences ("。" ends one), others one space.
        "sentence_gap": "" if babel_locale(locale).language in UNSPACED_LANGUAGES else " ",
        # The core's marker for a card number taken out of a producer's text; templates translate it.
        "redacted_card": REDACTED_CARD,
    }


def locale_filters(locale: str) -> dict[str, Any]:
    """Return the Jinja filters ``money``, ``date``, ``month``, ``number`` and ``percent`` bound to ``locale``.

    Everything is formatted by Babel with the locale's CLDR conventions (``US$ 24.000,00`` in
    Dutch); nothing is hand-formatted. Amounts go through worker.emails.currency_format, which looks
    Babel's data up once per currency rather than once per amount.
    """
    cldr = babel_locale(locale)
    # In right-to-left text an LRM keeps a Latin currency symbol whole ("US$", not "$US").
    trailing_mark = LRM if _right_to_left(locale) else ""

    # Equal values format equally here (currency digits and CLDR patterns fix the precision),
    # so caching on the value is safe.
    @lru_cache(maxsize=FORMAT_CACHE_SIZE)
    def money(amount: Decimal, currency: str) -> str:
        return currency_format(cldr, currency)(amount) + trailing_mark

    @lru_cache(maxsize=FORMAT_CACHE_SIZE)
    def date_(value: date, format: str = "long") -> str:
        return format_date(value, format=format, locale=cldr)

    @lru_cache(maxsize=FORMAT_CACHE_SIZE)
    def month(value: date) -> str:
        # A month and year in the locale's own order ("January 2026", "2026年1月", "janeiro de
        # 2026"): a fixed pattern such as "MMMM y" reads wrongly in CJK and Portuguese.
        return format_skeleton("yMMMM", value, locale=cldr)

    @lru_cache(maxsize=FORMAT_CACHE_SIZE)
    def number(value: Decimal) -> str:
        return format_number(value, cldr)

    @lru_cache(maxsize=FORMAT_CACHE_SIZE)
    def percent(rate: Decimal) -> str:
        # Keep significant decimals: a 5.5% rate must not print as 6%.
        return format_percent(rate, locale=cldr, decimal_quantization=False)

    return {"money": money, "date": date_, "month": month, "number": number, "percent": percent}


def _right_to_left(locale: str) -> bool:
    return babel_locale(locale).character_order == "right-to-left"


def _text_unbreakable(format_value: Any) -> Any:
    @jinja2.pass_eval_context
    def formatted(eval_context: jinja2.nodes.EvalContext, *args: Any, **kwargs: Any) -> str:
        text = str(format_value(*args, **kwargs))
        return text if eval_context.autoescape else text.replace(" ", UNBROKEN_SPACE)

    return formatted


@jinja2.pass_eval_context
def nobreak(eval_context: jinja2.nodes.EvalContext, value: object) -> object:
    """In HTML, ``value`` kept on one line (an invoice number must not break at its hyphen: it is
    what the customer quotes); in plain text, ``value`` as is."""
    if not eval_context.autoescape:
        return value
    return Markup('<span style="white-space:nowrap">%s</span>') % value


def https_url(value: object) -> str:
    """`value` when it is an absolute https: URL with a host, else "" (a producer-supplied link
    must never become javascript:, data: or plain http: in an email)."""
    text = str(value or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != "https" or not parts.netloc or any(ch.isspace() or ord(ch) < 32 for ch in text):
        return ""
    return text


#: The signature separator of RFC 3676 (4.3): two dashes and a space, alone on its line; mail
#: clients recognise it and dim or strip what follows when quoting.
SIGNATURE_SEPARATOR = "-- "


def _tidy_text(text: str) -> str:
    tidy = "\n".join(
        SIGNATURE_SEPARATOR if line.rstrip() == "--" else line.rstrip() for line in text.strip().splitlines()
    )
    # At most one blank line in a row; str.replace, as a regular expression scans ~10x slower.
    while "\n\n\n" in tidy:
        tidy = tidy.replace("\n\n\n", "\n\n")
    return tidy + "\n"


_default_renderer: Renderer | None = None
_default_renderer_lock = threading.Lock()


def default_renderer() -> Renderer:
    global _default_renderer
    if _default_renderer is None:
        with _default_renderer_lock:
            if _default_renderer is None:
                _default_renderer = Renderer(DEFAULT_TEMPLATES_DIR, DEFAULT_LOCALES_DIR)
    return _default_renderer


def render(kind: str, context: Mapping[str, Any], locale: str) -> RenderedEmail:
    """Render email ``kind`` in ``locale`` with the project's templates and catalogs.

    See :meth:`Renderer.render` for what it raises.
    """
    return default_renderer().render(kind, context, locale)


def copy_subject(subject: str, locale: str) -> str:
    """The subject of a re-sent copy (`resend`): the original's, marked as a copy in ``locale``."""
    translations = default_renderer().environment(locale).translations  # type: ignore[attr-defined]
    return str(translations.gettext("Copy: %(subject)s") % {"subject": subject})
