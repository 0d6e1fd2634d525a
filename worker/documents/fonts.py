"""The fonts the invoice PDF needs, and the check that they are there.

A fresh machine has DejaVu only; `lock/fonts` installs Debian's `fonts-noto-core` (Noto Sans,
Noto Sans Arabic, Hebrew, Thai) and `fonts-noto-cjk` (Noto Sans CJK: one face for Japanese,
Korean and Chinese, each language's glyph forms chosen by the text's language). Typst embeds
the glyphs used, subset. The CJK faces' common characters are read from subsets of them
(worker/documents/font_subsets.py), listed before the whole faces. A font that is missing is an
operator's problem, never a silently wrong PDF: Typst warns, and the warning is raised here
naming the family and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

from worker.documents.font_subsets import SUBSET_FAMILIES
from worker.domain.locales import catalog_language
from worker.errors import PermanentError

LATIN = "Noto Sans"
ARABIC = "Noto Sans Arabic"
#: Scripts of other catalogs' languages that Noto Sans leaves out, each in fonts-noto-core.
OTHER_SCRIPTS = ("Noto Sans Hebrew", "Noto Sans Thai")
#: One Noto Sans CJK face for Japanese, Chinese (simplified) and Korean: the text's `lang` and
#: `region` (set from the locale by the template) select each language's glyph forms through
#: the font's OpenType `locl` feature, pixel for pixel those of the SC and KR faces (a test
#: compares them). Traditional Chinese keeps its own face: it centres its punctuation, which
#: `locl` does not move. Why: Typst reads a face's font file whole into memory, each face on
#: its own (~20 MB a weight of this collection), so a worker that laid out ja, zh and ko held
#: ~80 MB more with a face per language.
CJK_FACE = "Noto Sans CJK JP"
CJK_OWN_FACES = {"zh_TW": "Noto Sans CJK TC"}


class DocumentFontsMissing(PermanentError):
    """A font the invoice PDF needs is not installed."""


def font_families(locale: str) -> list[str]:
    """Typst's font fallback list for `locale`: each script's glyphs from its own family (a
    Japanese buyer's name on a German invoice still has its glyphs); the CJK face's common
    characters from its subset (worker/documents/font_subsets.py), any other from the whole face."""
    cjk = CJK_OWN_FACES.get(catalog_language(locale), CJK_FACE)
    return [LATIN, ARABIC, *OTHER_SCRIPTS, SUBSET_FAMILIES[cjk], cjk]


def check_fonts(warnings: Iterable[object]) -> None:
    """Raises DocumentFontsMissing on Typst's warning of an unknown font family or a glyph no
    font has."""
    for warning in warnings:
        text = str(getattr(warning, "message", warning))
        if "unknown font family" in text or "glyph" in text:
            raise DocumentFontsMissing(f"the invoice PDF cannot be built: {text}; install the fonts: lock/fonts")
