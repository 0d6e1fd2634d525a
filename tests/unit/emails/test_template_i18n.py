"""Compile-time translation renders exactly what the i18n extension renders at run time."""

from __future__ import annotations

import gettext

import jinja2
import pytest

from worker.domain.locales import SUPPORTED_LOCALES
from worker.emails.kinds import KINDS
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, Renderer
from worker.emails.template_i18n import PretranslatingEnvironment
from worker.settings import load_settings


class Catalog(gettext.NullTranslations):
    def __init__(self, messages: dict[str, str]) -> None:
        super().__init__()
        self.messages = messages

    def gettext(self, message: str) -> str:
        return self.messages.get(message, message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


TEMPLATE = (
    '{{ _("Dear %(name)s,", name=name) }}|{{ _("100%% paid") }}|{{ _("Untranslated") }}|'
    '{{ _("Total: %(amount)s", amount=_("none")) }}|{{ _(dynamic) }}|{{ _("Dear %(name)s,", name=name) | upper }}'
)
MESSAGES = {"Dear %(name)s,": "Beste %(name)s,", "100%% paid": "100%% betaald", "none": "geen", "Hi": "Hoi"}


def environment(
    cls: type[jinja2.Environment], catalog: Catalog, templates: dict[str, str] | None = None, **options
) -> jinja2.Environment:
    env = cls(
        loader=jinja2.DictLoader(templates or {"t.html": TEMPLATE, "t.txt": TEMPLATE}),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        extensions=["jinja2.ext.i18n"],
        **options,
    )
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    if isinstance(env, PretranslatingEnvironment):
        env.translations = catalog
    return env


@pytest.mark.parametrize("template", ["t.html", "t.txt"])
def test_constant_gettext_calls_render_as_the_i18n_extension_renders_them(template):
    # Given the same catalog in a plain and a pre-translating environment
    catalog = Catalog(MESSAGES)
    plain = environment(jinja2.Environment, catalog)
    pretranslating = environment(PretranslatingEnvironment, catalog)
    context = {"name": "<b>Zoë & co</b>", "dynamic": "Hi"}

    # When both render, then the output is identical, escaping (HTML) and "%%" included
    expected = plain.get_template(template).render(context)
    assert pretranslating.get_template(template).render(context) == expected
    assert "Beste" in expected and "100% betaald" in expected and "Hoi" in expected


#: Translations of every shape the compile-time forms must tell apart: placeholders reordered, a
#: placeholder twice, a variable the translation leaves out, a non-string conversion, a stray
#: "%", a literal "%%", markup written by the translator.
SHAPES = {
    "From %(a)s to %(b)s": "Van %(b)s tot %(a)s",
    "Hello %(name)s": "%(name)s, hallo %(name)s",
    "Paid by %(name)s on %(date)s": "Betaald op %(date)s",
    "%(n)s items": "%(n)d artikelen",
    "Rate: %(rate)s": "Tarief: %(rate)s %",
    "%(p)s%% off": "%(p)s%% korting",
    "Note: %(text)s": "<b>Let op:</b> %(text)s",
}
SHAPES_TEMPLATE = (
    '{{ _("From %(a)s to %(b)s", a=a, b=b) }}|{{ _("Hello %(name)s", name=name) }}|'
    '{{ _("%(n)s items", n=n) }}|{{ _("%(p)s%% off", p=n) }}|{{ _("Note: %(text)s", text=name) }}|'
    '{{ _("From %(a)s to %(b)s", a=a, b=_("Note: %(text)s", text=b)) | lower }}'
)


@pytest.mark.parametrize("template", ["t.html", "t.txt"])
def test_translations_of_every_shape_render_as_the_i18n_extension_renders_them(template):
    catalog = Catalog(SHAPES)
    templates = {"t.html": SHAPES_TEMPLATE, "t.txt": SHAPES_TEMPLATE}
    plain, pretranslating = (
        environment(cls, catalog, templates) for cls in (jinja2.Environment, PretranslatingEnvironment)
    )
    context = {"a": "<a & b>", "b": 'say "hi"', "name": "Zoë <b>", "n": 5}

    expected = plain.get_template(template).render(context)
    assert pretranslating.get_template(template).render(context) == expected
    assert "Van say" in expected and "5 artikelen" in expected and "5% korting" in expected


@pytest.mark.parametrize("template", ["t.html", "t.txt"])
@pytest.mark.parametrize(
    "source",
    [
        '{{ _("Paid by %(name)s on %(date)s", name=missing, date=d) }}',  # a variable the translation leaves out
        '{{ _("Rate: %(rate)s", rate=d) }}',  # a stray "%" in the translation
    ],
)
def test_a_translation_that_breaks_the_rules_fails_or_renders_as_with_the_extension(template, source):
    # The catalog tests keep such translations out; if one got in, the email must not change meaning.
    outcomes = []
    for cls in (jinja2.Environment, PretranslatingEnvironment):
        env = environment(cls, Catalog(SHAPES), {"t.html": source, "t.txt": source}, undefined=jinja2.StrictUndefined)
        try:
            outcomes.append(env.get_template(template).render(d="1 mei"))
        except (jinja2.UndefinedError, ValueError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


def test_the_html_template_escapes_variables_inside_a_translated_message():
    env = environment(PretranslatingEnvironment, Catalog(MESSAGES))
    out = env.get_template("t.html").render(name="<script>", dynamic="Hi")
    assert "Beste &lt;script&gt;," in out and "<script>" not in out


def test_every_kind_renders_the_same_in_every_locale_as_without_compile_time_translation():
    class RuntimeOnly(Renderer):
        def _build_environment(self, locale):
            env = super()._build_environment(locale)
            env.translations = None  # gettext left to the i18n extension at render time
            return env

    settings = load_settings()
    fast = Renderer(DEFAULT_TEMPLATES_DIR, DEFAULT_LOCALES_DIR)
    slow = RuntimeOnly(DEFAULT_TEMPLATES_DIR, DEFAULT_LOCALES_DIR)
    for kind in KINDS:
        context = preview_context(kind, settings)
        for locale in SUPPORTED_LOCALES:
            assert fast.render(kind, context, locale) == slow.render(kind, context, locale), (kind, locale)
