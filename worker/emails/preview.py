"""`invoice-worker preview`: render an email from fixtures without sending it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from worker.data.countries import invoice_payment_options
from worker.domain.model import Invoice, Recipients
from worker.emails.kinds import bounce_notice_fields, card_failed_fields, redemption_fields, rewards_code_fields
from worker.emails.mime import build_message
from worker.emails.rendering import render
from worker.resources import fixtures_dir
from worker.settings import Settings


def _invoice_context(data: dict[str, Any]) -> dict[str, Any]:
    invoice = TypeAdapter(Invoice).validate_python(data)
    return {"invoice": invoice, "recipient": invoice.billing_contact, "payment": invoice_payment_options(invoice)}


#: kind -> how its fixture becomes a template context.
PREVIEW_CONTEXTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "invoice": _invoice_context,
    "bounce_notice": bounce_notice_fields,
    "card_failed": card_failed_fields,
    # The fixture's code is a made-up example, never a real one.
    "rewards_code": lambda data: rewards_code_fields(data, data["redemption_code"]),
    "redemption": redemption_fields,
}


def preview_context(kind: str, settings: Settings) -> dict[str, Any]:
    """The template context of a kind, from `fixtures/preview/<kind>.json`.

    Raises:
      ValueError: no preview fixture for that kind.
    """
    if kind not in PREVIEW_CONTEXTS:
        raise ValueError(f"no preview for kind {kind!r}; known: {', '.join(sorted(PREVIEW_CONTEXTS))}")
    data = json.loads((fixtures_dir() / "preview" / f"{kind}.json").read_text(encoding="utf-8"))
    return PREVIEW_CONTEXTS[kind](data)


def preview(kind: str, locale: str, out_dir: Path, settings: Settings) -> list[Path]:
    """Write subject.txt, body.html, body.txt and message.eml; return their paths."""
    context = preview_context(kind, settings)
    rendered = render(kind, context, locale)
    target = out_dir / kind / locale
    target.mkdir(parents=True, exist_ok=True)
    recipient = context["recipient"]
    message = build_message(
        rendered,
        Recipients(to=(recipient,)),
        mail_from=settings.mail_from,
        message_id=f"<preview.{kind}.{locale}@invoice-worker.invalid>",
        sent_at=datetime.now(UTC),
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
    return paths
