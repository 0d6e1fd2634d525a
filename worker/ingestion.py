"""Apply one contract event to the store. Idempotent: the same event twice has the effect of once.

Events may arrive late and out of order: an activation before its order is kept and applied when
the order arrives; an account that arrives after its orders is picked up by their windows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from worker.app import App
from worker.due import window_member
from worker.errors import InvalidEvent
from worker.events import Event, parse_event, redact

log = logging.getLogger(__name__)


async def apply_event(app: App, raw: dict[str, Any]) -> list[str]:
    """Validate and apply; returns the due members the event made due now.

    Raises:
      InvalidEvent: the event breaks the contract (the caller dead-letters it).
    """
    event = parse_event(raw)
    store = app.store
    if await store.event_done(event.id):
        log.info("event %s (%s) seen before: no effect", event.id, event.type)
        return []
    handler = HANDLERS.get(event.type)
    if handler is None:
        raise InvalidEvent(event.id, "type", f"event type {event.type!r} is not handled by this worker yet")
    members = await handler(app, event)
    await store.mark_event_done(event.id)
    return members


async def _account_updated(app: App, event: Event) -> list[str]:
    account = event.data.to_model()
    store, now = app.store, app.clock().timestamp()
    if not await store.save_account(account, event.occurred_at):
        log.info("event %s: account %s has a newer snapshot; kept that", event.id, account.account_id)
        return []
    members = []
    for order_id in await store.account_orders(account.account_id):
        members.append(window_member(order_id))
        await store.mark_due(window_member(order_id), now)
    return members


async def _order_booked(app: App, event: Event) -> list[str]:
    order = event.data.to_model()
    store = app.store
    await store.save_order(order)
    known = {line.line_id for line in order.lines}
    for line_id, entry in (await store.load_activations(order.order_id)).items():
        if line_id not in known:
            error = InvalidEvent(entry["event_id"], "data.line_id", f"line {line_id!r} is not on order {order.order_id!r}")
            await dead_letter(app, {"id": entry["event_id"], "type": "service.activated"}, error)
    await store.mark_due(window_member(order.order_id), app.clock().timestamp())
    return [window_member(order.order_id)]


async def _service_activated(app: App, event: Event) -> list[str]:
    data = event.data
    store = app.store
    order = await store.load_order(data.order_id)
    if order is not None and order.line(data.line_id) is None:
        raise InvalidEvent(event.id, "data.line_id", f"line {data.line_id!r} is not on order {data.order_id!r}")
    await store.record_activation(data.order_id, data.line_id, data.activated_at, event.id)
    await store.mark_due(window_member(data.order_id), app.clock().timestamp())
    return [window_member(data.order_id)]


HANDLERS = {
    "account.updated": _account_updated,
    "order.booked": _order_booked,
    "service.activated": _service_activated,
}


async def dead_letter(app: App, raw: Any, error: InvalidEvent) -> None:
    """Log the error naming the event and field, and keep the event (secrets redacted) with it."""
    event_type = raw.get("type", "?") if isinstance(raw, dict) else "?"
    log.error("rejected %s", error)
    # An event without a usable id is still kept once: key it by its content.
    entry_id = error.event_id
    if entry_id == "?":
        entry_id = "sha256:" + hashlib.sha256(json.dumps(redact(raw), sort_keys=True, default=str).encode()).hexdigest()
    await app.store.dead_letter(
        event_id=entry_id,
        event_type=str(event_type),
        field=error.field,
        reason=error.reason,
        event=redact(raw),
        at=app.clock(),
    )
