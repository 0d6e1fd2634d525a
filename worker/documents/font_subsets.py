"""The CJK faces' common characters as fonts of their own, which Typst reads instead of the
whole faces.

Typst reads a font file whole into memory the first time it lays out a glyph of it, each face of
a collection on its own: the two Noto Sans CJK faces the invoice uses (JP, which also serves
simplified Chinese and Korean through `locl`, and TC) are ~20 MB a weight, 78 MB in a worker that
laid out both. Nearly every name and address uses the characters of the national standard
character sets, so each face is cut down to them once (HarfBuzz's subsetter, ~0.3 s a face and
weight; fontTools took 16 s) and renamed (`SUBSET_FAMILIES`), and the PDF's font list names the
subset first and the whole face after it: a character outside the subset is laid out from the
whole face, which is then read as before.

The subsets are kept on disk, named by what they are built from (the source fonts' paths, sizes
and times, the two libraries' versions, what the characters kept are made of), so every worker of a machine builds
them once and two machines with the same fonts and lock build the same bytes: a document built
again after retention comes out the same.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import cache
from importlib.metadata import version
from pathlib import Path

import typst

#: The whole faces, each with the name its subset takes (worker/documents/fonts.py lists both).
SUBSET_FAMILIES = {
    "Noto Sans CJK JP": "Invoice Worker Sans CJK JP",
    "Noto Sans CJK TC": "Invoice Worker Sans CJK TC",
}
#: What each subset keeps, by the legacy encodings of the national character sets (every
#: two-byte code of them that decodes to one character), with the Hangul syllables whole
#: (11,172; KS X 1001 has 2,350 of them) for Korean names:
#: JIS X 0208 (Japanese), GB 2312 (simplified Chinese), KS X 1001 (Korean); Big5 (traditional).
CHARACTER_SETS = {
    "Noto Sans CJK JP": ("euc_jp", "gb2312", "euc_kr"),
    "Noto Sans CJK TC": ("big5",),
}
HANGUL_SYLLABLES = range(0xAC00, 0xD7A4)
#: What every subset keeps besides: Latin, general punctuation, CJK symbols and punctuation,
#: kana, full- and half-width forms.
COMMON_RANGES = (range(0x20, 0x250), range(0x2000, 0x2070), range(0x3000, 0x3100), range(0xFF00, 0xFFF0))
#: Raise when what the subsets keep changes, so that every machine builds them anew.
SUBSETS_VERSION = 1
#: The weights the invoice template uses.
WEIGHTS = (400, 700)
#: Longest wait for the process that builds the subsets (~2 s on this machine).
BUILD_TIMEOUT_S = 300

_lock = threading.Lock()
_directory: Path | None = None


@cache
def characters(face: str) -> tuple[int, ...]:
    """The code points `face`'s subset keeps, sorted (~0.1 s to work out: kept for the other weight)."""
    kept: set[int] = {code for codes in COMMON_RANGES for code in codes}
    for codec in CHARACTER_SETS[face]:
        for lead in range(0x81, 0xFF):
            for trail in range(0x40, 0xFF):
                try:
                    text = bytes((lead, trail)).decode(codec)
                except UnicodeDecodeError:
                    continue
                if len(text) == 1:
                    kept.add(ord(text))
    if "euc_kr" in CHARACTER_SETS[face]:
        kept.update(HANGUL_SYLLABLES)
    return tuple(sorted(kept))


def subsets_directory() -> Path | None:
    """The folder holding every subset, built on first call (None when a whole face is not
    installed: the PDF then fails as it would without the subsets, naming the fonts to install)."""
    global _directory
    with _lock:
        if _directory is None:
            sources = _sources()
            if sources is None:
                return None
            _directory = _build(sources)
        return _directory


def _sources() -> list[tuple[str, int, str, int]] | None:
    """(face, weight, path, index in its collection) of every whole face, as Typst finds them."""
    found = {
        (info.family, info.weight): (info.path, info.index)
        for info in typst.Fonts(include_embedded_fonts=False).fonts()
        if info.family in SUBSET_FAMILIES and info.weight in WEIGHTS and info.style == "normal" and info.path
    }
    wanted = [(face, weight) for face in SUBSET_FAMILIES for weight in WEIGHTS]
    if any(key not in found for key in wanted):
        return None
    return [(face, weight, str(found[face, weight][0]), found[face, weight][1]) for face, weight in wanted]


def _build(sources: list[tuple[str, int, str, int]]) -> Path:
    # What the characters kept are made of, not the characters: a warm cache is found without
    # working them out. The codecs' tables are Python's, hence its version.
    kept = [CHARACTER_SETS, repr(COMMON_RANGES), repr(HANGUL_SYLLABLES), sys.version_info[:2]]
    made_of = [SUBSETS_VERSION, version("uharfbuzz"), version("fonttools"), kept]
    for face, weight, path, index in sources:
        stat = os.stat(path)
        made_of.append([face, weight, path, index, stat.st_size, stat.st_mtime_ns])
    key = hashlib.sha256(json.dumps(made_of).encode()).hexdigest()[:16]
    try:
        return _write(_cache_root() / key, sources)
    except OSError:  # a cache that takes no more (a full disk): this process's own
        return _write(_private_folder() / key, sources)


def _write(directory: Path, sources: list[tuple[str, int, str, int]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    missing = [source for source in sources if not _target(directory, source).exists()]
    if missing:
        # In a process of its own: cutting the four faces holds ~220 MB (HarfBuzz's and
        # fontTools' tables), which a worker would keep as its own resident memory.
        done = subprocess.run(
            [sys.executable, "-m", __name__, str(directory), json.dumps(missing)],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the CJK font subsets could not be built: {done.stderr.strip()[-500:]}")
    return directory


def _target(directory: Path, source: tuple[str, int, str, int]) -> Path:
    face, weight, _, _ = source
    return directory / f"{SUBSET_FAMILIES[face].replace(' ', '')}-{weight}.otf"


def write_subsets(directory: Path, sources: list[tuple[str, int, str, int]]) -> None:
    """Each of `sources` cut down into `directory` (what the process `_write` starts runs)."""
    for source in sources:
        face, _, path, index = source
        # Written whole under another name, then renamed: a worker never reads half a font,
        # and two that build it at once write the same bytes.
        with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
            try:
                part.write(subset_font(path, index, face))
            except BaseException:
                os.unlink(part.name)
                raise
        os.replace(part.name, _target(directory, source))


def _cache_root() -> Path:
    try:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "invoice-worker" / "fonts"
        root.mkdir(parents=True, exist_ok=True)
        if os.access(root, os.W_OK):
            return root
    except (OSError, RuntimeError):  # RuntimeError: no home directory to be found
        pass
    # No writable cache (a read-only home): this process's own, built again by the next.
    return _private_folder()


def _private_folder() -> Path:
    """A folder of this process's own, removed when it exits."""
    folder = Path(tempfile.mkdtemp(prefix="invoice-worker-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def subset_font(path: str, index: int, face: str) -> bytes:
    """Face `index` of the font file at `path` cut down to `characters(face)` and renamed to
    `SUBSET_FAMILIES[face]`; the layout features that text shaping uses (`locl` included, with
    the glyphs they reach) are kept."""
    # Imported here: a worker whose subsets are on disk never needs them (~3 MB).
    import uharfbuzz
    from fontTools.ttLib import TTFont

    blob = uharfbuzz.Blob.from_file_path(path)
    wanted = uharfbuzz.SubsetInput()
    for code in characters(face):
        wanted.unicode_set.add(code)
    subset = uharfbuzz.subset(uharfbuzz.Face(blob, index), wanted)
    if subset is None:
        raise RuntimeError(f"HarfBuzz could not subset {face} ({path}, face {index})")
    font = TTFont(io.BytesIO(subset.blob.data), lazy=True, recalcBBoxes=False, recalcTimestamp=False)
    family, postscript = SUBSET_FAMILIES[face], SUBSET_FAMILIES[face].replace(" ", "")
    for record in font["name"].names:
        text = record.toUnicode()
        record.string = text.replace(face, family).replace(face.replace(" ", ""), postscript)
        if record.nameID == 6:  # the PostScript name: "NotoSansCJKjp-Regular"
            record.string = postscript + "-" + text.split("-", 1)[-1]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


if __name__ == "__main__":
    write_subsets(Path(sys.argv[1]), [tuple(source) for source in json.loads(sys.argv[2])])
