"""Keep secrets out of queue messages: seal them in Redis and carry a reference instead.

A `rewards.accrued` event carries a redemption code, a secret (DOMAIN.md section 5). Queue
messages are stored in Redis by the broker and printed by dramatiq when a message fails, so
`invoice-worker ingest` puts the code under a random token with a TTL (`SEALED_SECRET_TTL_S`) and
sends the event with the code replaced by a placeholder and the token in the envelope:

    {"id": ..., "data": {..., "redemption_code": "[sealed]"}, "sealed": {"redemption_code": "<token>"}}

The delivery keeps only the token; the code is read once, when the message is built, and the
sealed key is deleted as soon as the built message is stored (worker/emails.py `after_message_stored`).
The message bytes (which do hold the code) are deleted once every recipient is final. Whoever
drops an event that carries a token (duplicate, ineligible, dead-lettered) forgets the token too.

The same preparation redacts card numbers from a failed payment's `reason` before it is queued.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from typing import Any

from worker.domain.card_numbers import redact_card_numbers

#: The placeholder a sealed field carries in the queue message.
SEALED_PLACEHOLDER = "[sealed]"
#: Event type -> the `data` fields that are sealed.
SEALED_FIELDS: dict[str, tuple[str, ...]] = {"rewards.accrued": ("redemption_code",)}
#: Event type -> the free-text `data` fields that may quote a card number.
CARD_TEXT_FIELDS: dict[str, tuple[str, ...]] = {"payment.card_failed": ("reason",)}


def new_token() -> str:
    return secrets.token_urlsafe(18)


def prepare_for_queue(raw: dict[str, Any], seal: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a valid event fit for a queue message: secrets sealed (`seal(secret)` keeps one
    and returns its token), card numbers redacted from free text."""
    out = copy.deepcopy(raw)
    data = out.get("data")
    if not isinstance(data, dict):
        return out
    for name in CARD_TEXT_FIELDS.get(out.get("type", ""), ()):
        if isinstance(data.get(name), str):
            data[name] = redact_card_numbers(data[name])
    tokens = {}
    for name in SEALED_FIELDS.get(out.get("type", ""), ()):
        if isinstance(data.get(name), str) and data[name] != SEALED_PLACEHOLDER:
            tokens[name] = seal(data[name])
            data[name] = SEALED_PLACEHOLDER
    if tokens:
        out["sealed"] = tokens
    return out


def sealed_token(raw: Any, name: str) -> str | None:
    """The token of a sealed `data` field of a queued event, or None when it was not sealed."""
    sealed = raw.get("sealed") if isinstance(raw, dict) else None
    token = sealed.get(name) if isinstance(sealed, dict) else None
    return token if isinstance(token, str) and token else None


def sealed_tokens(raw: Any) -> list[str]:
    sealed = raw.get("sealed") if isinstance(raw, dict) else None
    return [t for t in sealed.values() if isinstance(t, str) and t] if isinstance(sealed, dict) else []
