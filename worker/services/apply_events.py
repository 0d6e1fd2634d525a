"""Apply one contract event to the store. Idempotent: the same event twice has the effect of once.

Events may arrive late and out of order: an activation before its order is kept and applied when
the order arrives; an account that arrives after its orders is picked up by their windows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from worker.contract.events import Event, parse_event, redact
from worker.contract.jsonlines import canonical_digest
from worker.contract.sealed import sealed_tokens
from worker.domain.model import Account, Order
from worker.domain.schedules import frequency_error
from worker.errors import InvalidEvent
from worker.services.card_failures import apply_card_failed
from worker.services.context import ServiceContext
from worker.services.credits import apply_invoice_credited
from worker.services.ledger import apply_invoice_disputed, apply_payment_received
from worker.services.metrics import event_type_label
from worker.services.rewards import apply_rewards_accrued, apply_rewards_redeemed, forget_unused_code
from worker.services.usage import apply_usage_rated
from worker.store.due_members import period_member, window_member
from worker.store.orders import ActivationToApply

log = logging.getLogger(__name__)

#: The commonest event, several per order: applied in runs, one Redis round trip per run.
ACTIVATED = "service.activated"
BOOKED = "order.booked"
ACCOUNT_UPDATED = "account.updated"
#: Events applied again to no effect, so kept without a processed marker (`apply_event`).
UNMARKED = frozenset({BOOKED, ACCOUNT_UPDATED})


async def apply_event(app: ServiceContext, raw: dict[str, Any], *, remembered: bool = False) -> list[str]:
    """Validate and apply; returns the due members the event made due now. `remembered`: its
    id's data digest was remembered already (by `ingest`, which refused a reused id), so it is
    not looked up again.

    Raises:
      InvalidEvent: the event breaks the contract (the caller dead-letters it).
    """
    event = parse_event(raw)
    if event.type == ACTIVATED:
        members, rejected = await apply_activations(app, [event], remembered=remembered)
        if rejected:
            raise rejected[0][1]
        return members
    store = app.store
    if not remembered:
        await refuse_reused_id(app, event)
    # A booking and an account update have no processed marker (~100-140 B each for 90 days,
    # in every open window and every invoice's account): applying either again is harmless.
    # `_order_booked` keeps the first record; `_account_updated` keeps the later snapshot (the
    # same one, again), and an order it rejects is gone by then. Their marks only bring a look
    # at the orders earlier.
    marked = event.type not in UNMARKED
    if marked and await store.events.event_done(event.id):
        log.info("event %s (%s) seen before: no effect", event.id, event.type)
        await forget_unused_code(app, event)
        return []
    handler = HANDLERS.get(event.type)
    if handler is None:
        raise InvalidEvent(event.id, "type", f"event type {event.type!r} is not handled by this worker yet")
    members = await handler(app, event)
    if marked:
        await store.events.mark_event_done(event.id)
    return members


def account_of(raw: Any) -> str | None:
    """The account an event (as queued, maybe malformed) names in `data.account_id`, if any."""
    data = raw.get("data") if isinstance(raw, dict) else None
    account_id = data.get("account_id") if isinstance(data, dict) else None
    return account_id if isinstance(account_id, str) else None


def data_digest(raw: dict[str, Any]) -> str:
    """What an event's `data` is compared by: its canonical digest, as queued (a sealed secret is
    a placeholder there, so no digest of a secret is kept)."""
    return canonical_digest(raw.get("data"))


def reused_id(event_id: str) -> InvalidEvent:
    return InvalidEvent(event_id, "id", f"id {event_id} was first seen with different data")


async def refuse_reused_id(app: ServiceContext, event: Event) -> None:
    """Remember the event's data under its id at first sight; the same id with the same data
    is a replay (the caller skips it), with other data it is refused: the first event stands.

    Raises:
      InvalidEvent: the id was first seen with different data (field `id`).
    """
    if await app.store.events.seen_with_other_data(event.id, data_digest(event.raw)):
        raise reused_id(event.id)


def gather_until(app: ServiceContext) -> float:
    """When an order touched by an event is looked at: a moment later, so that a batch of late
    events for one order (say, all its activations, delivered together) yields one invoice."""
    return app.clock().timestamp() + app.policy.event_gather_s


async def _account_updated(app: ServiceContext, event: Event) -> list[str]:
    account = event.data.to_model()
    store = app.store
    if not await store.orders.save_account(account, event.occurred_at):
        log.info("event %s: account %s has a newer snapshot; kept that", event.id, account.account_id)
        return []
    members = []
    for order_id in await store.orders.account_orders(account.account_id):
        order = await store.orders.load_order(order_id)
        if order is not None and await reject_booked_order(app, order, account):
            continue
        members.append(window_member(order_id))
        await store.due.mark_due(window_member(order_id), gather_until(app))
        # Later billing periods may wait for the account, once a window of the order settled
        # lines (until then that window's settlement marks them due).
        if order is not None and await store.orders.settled_any(order_id):
            await store.due.mark_due(period_member(order.subscription_id), gather_until(app))
    return members


async def _order_booked(app: ServiceContext, event: Event) -> list[str]:
    order = event.data.to_model()
    store = app.store
    account = await store.orders.load_account(order.account_id)
    reason = frequency_error(order, account) if account else None
    if reason:
        raise InvalidEvent(event.id, "data.billing_frequency", reason)
    # An account that arrives later is checked by `_account_updated` and `invoice_periods`.
    await store.orders.save_order(order, event.id)
    known = {line.line_id for line in order.lines}
    for line_id, entry in (await store.orders.load_activations(order.order_id)).items():
        if line_id not in known:
            error = InvalidEvent(
                entry["event_id"], "data.line_id", f"line {line_id!r} is not on order {order.order_id!r}"
            )
            await dead_letter(app, {"id": entry["event_id"], "type": "service.activated"}, error)
    # Its later periods wait for its window's first settlement (settle_window.lua marks them).
    await store.due.mark_due(window_member(order.order_id), gather_until(app))
    return [window_member(order.order_id)]


async def apply_activations(
    app: ServiceContext, events: list[Event], *, remembered: bool = False
) -> tuple[list[str], list[tuple[Event, InvalidEvent]]]:
    """Apply validated service.activated events in one Redis round trip, in order.

    Returns the due members they made due now (none while events are gathered: the scheduler
    takes them when due) and the events refused, each with its error: a line that is not on its
    booked order. An activation before its order is kept; order.booked checks it later.
    """
    due_at = gather_until(app)
    members: list[str] = []
    rejected: list[tuple[Event, InvalidEvent]] = []
    # Each id's first data in the same round trip (unless `ingest` did it: `remembered`); one
    # reused with other data is not applied.
    reused = (
        [False] * len(events)
        if remembered
        else await asyncio.gather(*(app.store.events.seen_with_other_data(e.id, data_digest(e.raw)) for e in events))
    )
    fresh = []
    for event, other_data in zip(events, reused, strict=True):
        if other_data:
            rejected.append((event, reused_id(event.id)))
        else:
            fresh.append(event)
    events = fresh
    outcomes = await app.store.orders.apply_activations(
        [ActivationToApply(e.id, e.data.order_id, e.data.line_id, e.data.activated_at) for e in events], due_at=due_at
    )
    for event, outcome in zip(events, outcomes, strict=False):
        order_id, line_id = event.data.order_id, event.data.line_id
        if outcome == "unknown_line":
            rejected.append(
                (event, InvalidEvent(event.id, "data.line_id", f"line {line_id!r} is not on order {order_id!r}"))
            )
        elif outcome == "seen":
            log.info("event %s (%s) seen before: no effect", event.id, event.type)
        elif due_at <= app.clock().timestamp():
            members.append(window_member(order_id))
    return list(dict.fromkeys(members)), rejected


HANDLERS = {
    ACCOUNT_UPDATED: _account_updated,
    BOOKED: _order_booked,
    "payment.card_failed": apply_card_failed,
    "rewards.accrued": apply_rewards_accrued,
    "rewards.redeemed": apply_rewards_redeemed,
    "payment.received": apply_payment_received,
    "invoice.disputed": apply_invoice_disputed,
    "usage.rated": apply_usage_rated,
    "invoice.credited": apply_invoice_credited,
}


async def reject_booked_order(app: ServiceContext, order: Order, account: Account) -> bool:
    """Dead-letter an order whose billing frequency the account may not book; False if it may.

    The account may arrive after the order: then the order was stored, and is removed here, so
    the state is as if its event had been rejected on arrival (field `data.billing_frequency`).
    """
    reason = frequency_error(order, account)
    if reason is None:
        return False
    event_id = await app.store.orders.order_event_id(order.order_id)
    error = InvalidEvent(event_id, "data.billing_frequency", reason)
    await dead_letter(app, {"id": event_id, "type": "order.booked", "data": {"order_id": order.order_id}}, error)
    await app.store.orders.remove_order(order)
    return True


def content_key(raw: Any) -> str:
    """What a rejected event is known by among the dead letters: a digest of its content
    (secrets redacted; the sealing tokens left out, as they differ each time it is ingested).
    The same event rejected twice, from a replayed file or a redelivered message, is kept once;
    another event under the same id, or at the same line of another file, is kept too."""
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k != "sealed"}
    return "event:" + canonical_digest(redact(raw))


#: Longest event a dead letter keeps whole (bytes of JSON); of a longer one only its envelope is
#: kept, so that a file of big bad lines cannot fill Redis with copies of them.
MAX_DEAD_LETTER_EVENT_BYTES = 64 * 1024


def _kept_of(event: Any) -> Any:
    size = len(json.dumps(event, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size <= MAX_DEAD_LETTER_EVENT_BYTES:
        return event
    fields = event if isinstance(event, dict) else {}
    # Of the envelope, the texts, shortened: an invalid id may be as long as the line.
    envelope = {k: v[:200] for k in ("id", "type", "occurred_at") if isinstance(v := fields.get(k), str)}
    return {
        **envelope,
        "truncated": f"the event is {size} bytes of JSON; a dead letter keeps at most {MAX_DEAD_LETTER_EVENT_BYTES}",
    }


async def dead_letter(app: ServiceContext, raw: Any, error: InvalidEvent, *, key: str | None = None) -> None:
    """Log the error naming the event and field, and keep the event (secrets redacted) with it,
    once per `key` (default: its content, `content_key`)."""
    event_type = raw.get("type", "?") if isinstance(raw, dict) else "?"
    log.error("rejected %s", error)
    app.metrics.events.labels(event_type_label(event_type), "dead_lettered").inc()
    await app.store.events.dead_letter(
        key=key or content_key(raw),
        event_id=error.event_id,
        event_type=str(event_type),
        field=error.field,
        reason=error.reason,
        event=_kept_of(redact(raw)),
        at=app.clock(),
    )
    for token in sealed_tokens(raw):  # a rejected event's secret is never needed
        await app.store.events.forget_sealed(token)
