"""Translate constant gettext calls when a template compiles, not every time it renders.

Each supported locale has its own Jinja environment (worker.rendering), so a template is compiled
once per locale and the catalog is known at compile time. `_("Dear %(name)s,", name=x)` with a
literal message id becomes the translated literal formatted with its variables: what the i18n
extension's new-style gettext computes on every render (`Markup(translation) % variables` under
autoescape, `translation % variables` otherwise), computed with no catalog lookup and no call
through the template context. Calls with a computed message id, plural forms and `{% trans %}`
blocks are left to the extension.
"""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2 import nodes

#: The gettext names the templates call with a literal message id.
GETTEXT_NAMES = frozenset({"_", "gettext"})


class PretranslatingEnvironment(jinja2.Environment):
    """A Jinja environment whose `translations` are applied at compile time where possible."""

    translations: Any = None

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        if self.translations is not None:
            _pretranslate(tree, self.translations, self)
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


def _translated(call: nodes.Call, translations: Any, environment: jinja2.Environment) -> nodes.Expr:
    text = translations.gettext(call.args[0].value)
    variables = nodes.Dict([nodes.Pair(nodes.Const(kw.key), kw.value) for kw in call.kwargs])
    expr = nodes.Mod(nodes.MarkSafeIfAutoescape(nodes.Const(text)), variables)
    return expr.set_lineno(call.lineno).set_environment(environment)


def _pretranslate(node: nodes.Node, translations: Any, environment: jinja2.Environment) -> None:
    """Replace, in place, every constant gettext call below `node`."""
    for field_name, value in node.iter_fields():
        if isinstance(value, nodes.Node):
            if _constant_gettext(value):
                _pretranslate(value, translations, environment)  # variables may hold gettext calls too
                setattr(node, field_name, _translated(value, translations, environment))  # type: ignore[arg-type]
            else:
                _pretranslate(value, translations, environment)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if not isinstance(item, nodes.Node):
                    continue
                _pretranslate(item, translations, environment)
                if _constant_gettext(item):
                    value[i] = _translated(item, translations, environment)
