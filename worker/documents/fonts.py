"""The fonts the invoice PDF needs, and the check that they are there.

A fresh machine has DejaVu only; `lock/fonts` installs Debian's `fonts-noto-core` (Noto Sans,
Noto Sans Arabic, Hebrew, Thai) and `fonts-noto-cjk` (Noto Sans CJK, one face for Japanese, Korean and
Chinese, with each language's glyph forms). Typst embeds the glyphs used, subset. A font that is
missing is an operator's problem, never a silently wrong PDF: Typst warns, and the warning is
raised here naming the family and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from worker.domain.locales import catalog_language
from worker.errors import PermanentError

LATIN = "Noto Sans"
ARABIC = "Noto Sans Arabic"
#: Scripts of other catalogs' languages that Noto Sans leaves out, each in fonts-noto-core.
OTHER_SCRIPTS = ("Noto Sans Hebrew", "Noto Sans Thai")
#: Noto Sans CJK's face per language: the same glyph set, each language's own forms.
CJK = {"ja": "Noto Sans CJK JP", "ko": "Noto Sans CJK KR", "zh_CN": "Noto Sans CJK SC", "zh_TW": "Noto Sans CJK TC"}


class DocumentFontsMissing(PermanentError):
    """A font the invoice PDF needs is not installed."""


def font_families(locale: str) -> list[str]:
    """Typst's font fallback list for `locale`: its own script first, then the others (a
    Japanese buyer's name on a German invoice still has its glyphs)."""
    language = catalog_language(locale)
    cjk = CJK.get(language, CJK["ja"])
    return [LATIN, ARABIC, *OTHER_SCRIPTS, cjk]


def check_fonts(warnings: Iterable[object]) -> None:
    """Raises DocumentFontsMissing on Typst's warning of an unknown font family or a glyph no
    font has."""
    for warning in warnings:
        text = str(getattr(warning, "message", warning))
        if "unknown font family" in text or "glyph" in text:
            raise DocumentFontsMissing(f"the invoice PDF cannot be built: {text}; install the fonts: lock/fonts")
