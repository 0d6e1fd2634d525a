"""Translate constant gettext calls when a template compiles, not every time it renders.

Each supported locale has its own Jinja environment (worker.emails.rendering), so a template is compiled
once per locale and the catalog is known at compile time. `_("Dear %(name)s,", name=x)` with a
literal message id becomes the translated literal formatted with its variables: what the i18n
extension's new-style gettext computes on every render (`Markup(translation) % variables` under
autoescape, `translation % variables` otherwise), computed with no catalog lookup and no call
through the template context. Calls with a computed message id, plural forms and `{% trans %}`
blocks are left to the extension.

Two cheaper forms of the same text, where they apply (Markup's `%` wraps every value in a helper
object and copies the result, the largest cost of an HTML render after the catalog lookups):

- printed directly (`{{ _("Dear %(name)s,", name=x) }}`), with each placeholder a `%(name)s` used
  once: the translation is spliced into the output, its text as template text and each value
  where its placeholder was (`Beste {{ x }},`), so the value is escaped as any printed value is;
- elsewhere under autoescape, with every placeholder a `%(name)s` and every variable shown:
  `Markup(translation % {name: escape(value)})`, Markup's `%` without the helpers.
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
from jinja2 import nodes

#: The gettext names the templates call with a literal message id.
GETTEXT_NAMES = frozenset({"_", "gettext"})

# Every "%" of a translation formatted as a string: a literal "%%" or a "%(name)s" placeholder.
_STRING_FORMAT = re.compile(r"%(?:%|\((\w+)\)s)")


class PretranslatingEnvironment(jinja2.Environment):
    """A Jinja environment whose `translations` are applied at compile time where possible."""

    translations: Any = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.translations is not None:
            autoescape = self.autoescape(name) if callable(self.autoescape) else bool(self.autoescape)
            # An {% autoescape %} block changes escaping inside the template: keep the general form.
            escape_values = autoescape and not any(tree.find_all(nodes.ScopedEvalContextModifier))
            _Pretranslator(self.translations, self, escape_values).visit(tree)
        return tree


def _constant_gettext(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in GETTEXT_NAMES
        and len(node.args) == 1
        and isinstance(node.args[0], nodes.Const)
        and isinstance(node.args[0].value, str)
        and node.dyn_args is None
        and node.dyn_kwargs is None
    )


class _Pretranslator:
    def __init__(self, translations: Any, environment: jinja2.Environment, escape_values: bool) -> None:
        self._translations = translations
        self._environment = environment
        self._escape_values = escape_values

    def visit(self, node: nodes.Node) -> None:
        """Replace, in place, every constant gettext call below `node`."""
        for field_name, value in node.iter_fields():
            if isinstance(value, nodes.Node):
                self.visit(value)  # first: the variables may hold gettext calls too
                if _constant_gettext(value):
                    setattr(node, field_name, self._formatted(value))  # type: ignore[arg-type]
            elif isinstance(value, list):
                replaced: list[Any] = []
                for item in value:
                    if isinstance(item, nodes.Node):
                        self.visit(item)
                    if not _constant_gettext(item):
                        replaced.append(item)
                    elif isinstance(node, nodes.Output):
                        replaced.extend(self._spliced(item) or [self._formatted(item)])
                    else:
                        replaced.append(self._formatted(item))
                value[:] = replaced

    def _spliced(self, call: nodes.Call) -> list[nodes.Node] | None:
        """The printed translation as template text and values, or None where that form does not apply."""
        text = self._translations.gettext(_msgid(call))
        variables = {kw.key: kw.value for kw in call.kwargs}
        pieces: list[nodes.Node] = []
        used: list[str] = []
        start = 0
        for match in _STRING_FORMAT.finditer(text):
            literal = text[start : match.start()] + ("%" if match.group(1) is None else "")
            if literal:
                pieces.append(nodes.TemplateData(literal))
            if match.group(1) is not None:
                used.append(match.group(1))
                pieces.append(variables.get(match.group(1)))  # type: ignore[arg-type]
            start = match.end()
        if "%" in text[start:] or sorted(used) != sorted(variables):
            # Another conversion, a stray "%", a placeholder twice or a variable not shown (which
            # must still be evaluated): the general form keeps its exact behaviour.
            return None
        if text[start:]:
            pieces.append(nodes.TemplateData(text[start:]))
        for piece in pieces:
            piece.set_lineno(call.lineno).set_environment(self._environment)
        return pieces

    def _formatted(self, call: nodes.Call) -> nodes.Expr:
        text = self._translations.gettext(_msgid(call))
        expr: nodes.Expr
        shown = {match.group(1) for match in _STRING_FORMAT.finditer(text)} - {None}
        # Escaping evaluates every value: only where the extension's "%" would use them all too.
        if self._escape_values and "%" not in _STRING_FORMAT.sub("", text) and shown == {kw.key for kw in call.kwargs}:
            escaped = [
                nodes.Pair(nodes.Const(kw.key), nodes.Filter(kw.value, "escape", [], [], None, None))
                for kw in call.kwargs
            ]
            expr = nodes.MarkSafe(nodes.Mod(nodes.Const(text), nodes.Dict(escaped)))
        else:
            variables = nodes.Dict([nodes.Pair(nodes.Const(kw.key), kw.value) for kw in call.kwargs])
            expr = nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(text)), variables)
        expr.set_lineno(call.lineno).set_environment(self._environment)
        return expr


def _msgid(call: nodes.Call) -> str:
    # Only calls whose first argument is a string constant are pretranslated (see visit_Output).
    first = call.args[0]
    assert isinstance(first, nodes.Const) and isinstance(first.value, str)
    return first.value
