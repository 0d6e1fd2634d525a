"""The gettext catalogs, compiled in memory when a locale is first rendered.

Nothing is written: the ``.po`` files are the only form on disk, in the repository and in the
installed package alike (a worker never writes into its source tree or site-packages).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations


def load_translations(locales_dir: Path, language: str) -> NullTranslations:
    """The translations of ``<locales_dir>/<language>/LC_MESSAGES/messages.po``.

    Fuzzy messages are left out (they fall back to the English msgid); a language without a
    catalog gets the msgids themselves.
    """
    po_path = Path(locales_dir) / language / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="messages")
