"""`invoice-worker preview`: render an email from its preview fixture without sending it; with
``--all``, every email kind in every supported locale, on one page (the gallery).

Each (kind, locale) is written by :func:`preview` under ``<out>/<kind>/<locale>/``;
``<out>/index.html`` shows them side by side per kind (subject, the HTML part in an iframe, the
text part), so a reviewer sees a missing translation, a wrong number format or a broken
right-to-left layout at a glance. A render that fails is shown in its place with the error.
The kinds, their fixtures and who receives them come from `worker.emails.kinds.KINDS`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.domain.locales import SUPPORTED_LOCALES, babel_locale
from worker.domain.model import Attachment, Recipients
from worker.emails.kinds import KINDS
from worker.emails.mime import build_message
from worker.emails.rendering import render
from worker.settings import Settings


def preview_context(kind: str, settings: Settings) -> dict[str, Any]:
    """The template context of a kind, from `fixtures/preview/<kind>.json`.

    Raises:
      ValueError: no preview fixture for that kind.
    """
    if kind not in KINDS:
        raise ValueError(f"no preview for kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[kind].preview_context()


#: Builds a kind's documents for its preview (kind, context, locale) -> (attachments, PNG of
#: page 1 or None); given by the caller (`worker.services.documents.preview_documents`), since
#: documents are built in a layer above this one.
DocumentPreviewer = Callable[[str, Mapping[str, Any], str], tuple[tuple[Attachment, ...], bytes | None]]


def preview(
    kind: str, locale: str, out_dir: Path, settings: Settings, *, documents: DocumentPreviewer | None = None
) -> list[Path]:
    """Write subject.txt, body.html, body.txt and message.eml, and the kind's documents with
    page 1 as page-1.png; return their paths."""
    context = preview_context(kind, settings)
    rendered = render(kind, context, locale)
    attachments, thumbnail = documents(kind, context, locale) if documents else ((), None)
    target = out_dir / kind / locale
    target.mkdir(parents=True, exist_ok=True)
    recipient = context["recipient"]
    message = build_message(
        rendered,
        Recipients(to=(recipient,)),
        mail_from=settings.mail_from,
        message_id=f"<preview.{kind}.{locale}@invoice-worker.invalid>",
        sent_at=datetime.now(UTC),
        attachments=attachments,
    )
    files = {
        "subject.txt": rendered.subject + "\n",
        "body.html": rendered.html,
        "body.txt": rendered.text,
    }
    paths = []
    for name, content in files.items():
        (target / name).write_text(content, encoding="utf-8")
        paths.append(target / name)
    (target / "message.eml").write_bytes(message)
    paths.append(target / "message.eml")
    for attachment in attachments:
        (target / attachment.filename).write_bytes(attachment.data)
        paths.append(target / attachment.filename)
    if thumbnail is not None:
        (target / "page-1.png").write_bytes(thumbnail)
        paths.append(target / "page-1.png")
    return paths


@dataclass(frozen=True)
class GalleryEntry:
    kind: str
    locale: str
    #: Paths relative to the gallery directory; empty when the render failed.
    html_path: str = ""
    subject: str = ""
    text: str = ""
    error: str = ""
    #: The documents (relative paths) and the thumbnail of the PDF's page 1, when the kind has them.
    documents: tuple[str, ...] = ()
    thumbnail: str = ""


def write_gallery(
    out_dir: Path,
    settings: Settings,
    *,
    kinds: Iterable[str] | None = None,
    locales: Iterable[str] = SUPPORTED_LOCALES,
    documents: DocumentPreviewer | None = None,
) -> tuple[Path, list[GalleryEntry]]:
    """Render every kind in every locale into ``out_dir``; return the index path and the entries."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for kind in sorted(kinds if kinds is not None else KINDS):
        for locale in locales:
            entries.append(_render_entry(kind, locale, out_dir, settings, documents))
    index = out_dir / "index.html"
    index.write_text(gallery_html(entries), encoding="utf-8")
    return index, entries


def _render_entry(
    kind: str, locale: str, out_dir: Path, settings: Settings, documents: DocumentPreviewer | None
) -> GalleryEntry:
    try:
        paths = {path.name: path for path in preview(kind, locale, out_dir, settings, documents=documents)}
    except Exception as exc:
        return GalleryEntry(kind, locale, error=f"{type(exc).__name__}: {exc}")
    files = tuple(
        path.relative_to(out_dir).as_posix() for name, path in paths.items() if name.endswith((".pdf", ".xml"))
    )
    return GalleryEntry(
        kind,
        locale,
        html_path=paths["body.html"].relative_to(out_dir).as_posix(),
        subject=paths["subject.txt"].read_text(encoding="utf-8").strip(),
        text=paths["body.txt"].read_text(encoding="utf-8"),
        documents=files,
        thumbnail=paths["page-1.png"].relative_to(out_dir).as_posix() if "page-1.png" in paths else "",
    )


_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; background: #f3f4f6; color: #1f2933; }
header { padding: 16px 24px; background: #1f2933; color: #fff; }
h2 { margin: 24px 24px 8px; }
.who { margin: 0 24px; font-size: 13px; color: #4b5563; }
nav a { color: #fff; margin-right: 12px; }
.row { display: flex; gap: 16px; overflow-x: auto; padding: 8px 24px 24px; align-items: flex-start; }
.card { flex: 0 0 680px; background: #fff; border: 1px solid #d1d5db; border-radius: 6px; padding: 12px; }
.locale { font-weight: bold; font-size: 13px; color: #4b5563; }
.subject { font-size: 16px; font-weight: bold; margin: 6px 0 10px; }
iframe { width: 100%; height: 1400px; border: 1px solid #e5e7eb; background: #eef1f4; }
pre { white-space: pre-wrap; font-size: 12px; background: #f9fafb; border: 1px solid #e5e7eb; padding: 8px; max-height: 500px; overflow: auto; }
.error { color: #b91c1c; font-weight: bold; }
.documents { display: flex; gap: 12px; align-items: flex-start; margin: 8px 0; font-size: 13px; }
.documents img { border: 1px solid #d1d5db; width: 170px; }
"""


def gallery_html(entries: list[GalleryEntry]) -> str:
    """The index page: one row per kind, one card per locale."""
    kinds = list(dict.fromkeys(entry.kind for entry in entries))
    nav = " ".join(f'<a href="#{html.escape(kind)}">{html.escape(kind)}</a>' for kind in kinds)
    failed = sum(1 for entry in entries if entry.error)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>Email gallery</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<header><strong>Email gallery</strong> — {len(kinds)} kinds × "
        f"{len({entry.locale for entry in entries})} locales, {failed} failed<br><nav>{nav}</nav></header>",
    ]
    for kind in kinds:
        parts.append(f'<h2 id="{html.escape(kind)}">{html.escape(kind)}</h2>')
        if kind in KINDS:
            parts.append(f'<p class="who">Recipients: {html.escape(KINDS[kind].who)}</p>')
        parts.append('<div class="row">')
        for entry in (e for e in entries if e.kind == kind):
            parts.append(_card(entry))
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _card(entry: GalleryEntry) -> str:
    label = f'<div class="locale">{html.escape(entry.locale)}</div>'
    if entry.error:
        return f'<section class="card">{label}<p class="error">{html.escape(entry.error)}</p></section>'
    direction = "rtl" if babel_locale(entry.locale).character_order == "right-to-left" else "ltr"
    return (
        f'<section class="card" lang="{html.escape(entry.locale)}">{label}'
        f'<div class="subject" dir="{direction}">{html.escape(entry.subject)}</div>'
        f'<iframe src="{html.escape(entry.html_path)}" title="{html.escape(entry.kind)} {html.escape(entry.locale)}"'
        "></iframe>"
        f"{_documents(entry)}"
        f'<pre dir="{direction}">{html.escape(entry.text)}</pre></section>'
    )


def _documents(entry: GalleryEntry) -> str:
    """Page 1 of the PDF as a thumbnail linking the PDF, and the attached files."""
    if not entry.documents:
        return ""
    links = " ".join(f'<a href="{html.escape(p)}">{html.escape(p.rpartition("/")[2])}</a>' for p in entry.documents)
    image = ""
    if entry.thumbnail:
        image = (
            f'<a href="{html.escape(entry.documents[0])}"><img src="{html.escape(entry.thumbnail)}"'
            f' alt="{html.escape(entry.kind)} {html.escape(entry.locale)}: page 1"></a>'
        )
    return f'<div class="documents">{image}<div>{links}</div></div>'
