"""Compile the gettext catalogs (``.po`` -> ``.mo``); the ``.mo`` files are build output."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def compile_catalogs(locales_dir: Path) -> None:
    """Compile every ``<lang>/LC_MESSAGES/*.po`` whose ``.mo`` is missing or older than it.

    Fuzzy messages are left out of the ``.mo`` (they fall back to the English msgid).
    """
    for po_path in sorted(Path(locales_dir).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Several worker processes may start at once: write aside, then rename atomically, so no
        # process ever loads a half-written .mo.
        fd, tmp_name = tempfile.mkstemp(dir=po_path.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as tmp_file:
                write_mo(tmp_file, catalog)
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
