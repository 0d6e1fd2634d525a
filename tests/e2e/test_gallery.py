"""`invoice-worker preview --all`: every kind in every locale, side by side on one page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT
from worker.domain.locales import SUPPORTED_LOCALES
from worker.emails.kinds import KINDS
from worker.emails.preview import write_gallery
from worker.settings import Settings

PROJECT_ROOT = ROOT


def test_the_gallery_shows_every_kind_in_every_locale(tmp_path: Path) -> None:
    # When the gallery is written
    index, entries = write_gallery(tmp_path, Settings())

    # Then every (kind, locale) rendered, with its files, and the index shows each of them
    assert {(e.kind, e.locale) for e in entries} == {(k, loc) for k in KINDS for loc in SUPPORTED_LOCALES}
    assert not [e for e in entries if e.error]
    page = index.read_text(encoding="utf-8")
    frames = re.findall(r'<iframe src="([^"]+)"', page)
    assert len(frames) == len(entries)
    assert all((tmp_path / frame).is_file() for frame in frames)
    for entry in entries:
        assert f"{entry.kind}/{entry.locale}/body.html" in frames
        assert (tmp_path / entry.kind / entry.locale / "body.txt").read_text(encoding="utf-8") == entry.text
    # The subject and text are shown escaped, right-to-left where the language is
    assert '<div class="subject" dir="rtl">' in page and '<pre dir="rtl">' in page
    assert "<script" not in page
    # Each kind says who receives it
    assert page.count('<p class="who">') == len(KINDS)


def test_the_gallery_shows_a_broken_render_instead_of_stopping(tmp_path: Path) -> None:
    # Given a kind without templates, when the gallery is written with it
    index, entries = write_gallery(tmp_path, Settings(), kinds=["invoice", "no_such_kind"], locales=["en-US"])

    # Then the broken one is listed with its error and the good one is still there
    errors = {e.kind: e.error for e in entries}
    assert errors["invoice"] == "" and "no_such_kind" in errors["no_such_kind"]
    assert "no preview for kind" in index.read_text(encoding="utf-8")


def test_preview_all_from_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "preview", "--all", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, env=os.environ.copy(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "index.html")
    assert (tmp_path / "invoice" / "ar" / "body.html").is_file()


def test_preview_without_kind_or_all_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "preview", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2 and "--all" in result.stderr
