"""Compile-time translation renders exactly what the i18n extension renders at run time."""

from __future__ import annotations

import gettext

import jinja2
import pytest

from settings import load_settings
from worker.locales import SUPPORTED_LOCALES
from worker.preview import PREVIEW_CONTEXTS, preview_context
from worker.rendering import DEFAULT_LOCALES_DIR, DEFAULT_TEMPLATES_DIR, Renderer
from worker.template_i18n import PretranslatingEnvironment


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


def environment(cls: type[jinja2.Environment], catalog: Catalog) -> jinja2.Environment:
    env = cls(loader=jinja2.DictLoader({"t.html": TEMPLATE, "t.txt": TEMPLATE}),
              autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
              extensions=["jinja2.ext.i18n"])
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
    for kind in PREVIEW_CONTEXTS:
        context = preview_context(kind, settings)
        for locale in SUPPORTED_LOCALES:
            assert fast.render(kind, context, locale) == slow.render(kind, context, locale), (kind, locale)
