"""Does every email fit a phone? Renders every kind in every supported locale and measures, in
headless Chromium, whether its HTML scrolls sideways at a phone's width (320 px by default):
`document.documentElement.scrollWidth <= innerWidth`. One Chromium run measures all of them
(each email in an iframe of that width, so its media queries apply as on a phone).

    .venv/bin/python tools/phone_width.py [--width 320] [--chromium /usr/bin/chromium] [--keep DIR]

Exits 1, listing each email and its width, when one does not fit. Needs Chromium (Debian's
`chromium` package); it is a check for whoever changes a template or a catalog, not a test
dependency.
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from worker.domain.locales import SUPPORTED_LOCALES
from worker.emails.preview import preview_context
from worker.emails.rendering import DEFAULT_TEMPLATES_DIR, render
from worker.settings import Settings

KINDS = sorted(p.name for p in DEFAULT_TEMPLATES_DIR.iterdir() if p.is_dir() and p.name[0] != "_")

_MEASURE = """
<script>
window.addEventListener("load", () => {
  const rows = [];
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument, win = frame.contentWindow;
    rows.push([frame.dataset.name, doc.documentElement.scrollWidth, win.innerWidth]);
  }
  document.getElementById("result").textContent = JSON.stringify(rows);
});
</script>
"""


def measure(width: int, chromium: str, out: Path) -> list[tuple[str, int, int]]:
    """(kind/locale, scrollWidth, innerWidth) of every email at `width` CSS pixels."""
    frames = []
    for kind in KINDS:
        context = preview_context(kind, Settings())
        for locale in SUPPORTED_LOCALES:
            name = f"{kind}-{locale}.html"
            (out / name).write_text(render(kind, context, locale).html, encoding="utf-8")
            frames.append(
                f'<iframe data-name="{kind}/{locale}" src="{html.escape(name)}" width="{width}" height="400"></iframe>'
            )
    page = out / "index.html"
    page.write_text(
        f"<!doctype html><html><body><pre id=result></pre>{''.join(frames)}{_MEASURE}</body></html>", encoding="utf-8"
    )
    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--virtual-time-budget=30000",
            "--dump-dom",
            page.as_uri(),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    rows = json.loads(html.unescape(dom[start : dom.index("</pre>", start)]))
    if len(rows) != len(frames):
        raise SystemExit(f"measured {len(rows)} of {len(frames)} emails")
    return [(name, scroll, inner) for name, scroll, inner in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument(
        "--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    )
    parser.add_argument("--keep", type=Path, help="write the pages here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.keep or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        rows = measure(args.width, args.chromium, out)
    wide = [(name, scroll, inner) for name, scroll, inner in rows if scroll > inner]
    for name, scroll, inner in wide:
        print(f"too wide at {args.width} px: {name}: scrollWidth {scroll} > innerWidth {inner}")
    print(f"{len(rows) - len(wide)} of {len(rows)} emails fit {args.width} px without scrolling sideways")
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main())
