"""The store's accounts, orders and activations, and what closing windows and invoicing later
periods read: `Orders`, the `orders` part of `worker.store.store.Store`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from worker.domain.model import Account, Order
from worker.store import account_records, growing_buckets, order_records
from worker.store.connection import Connection
from worker.store.due_members import period_member, window_member
from worker.store.keys import pattern_of


@dataclass(frozen=True)
class ActivationToApply:
    """A validated service.activated event, as `Orders.apply_activations` takes it."""

    event_id: str
    order_id: str
    line_id: str
    at: datetime


@dataclass(frozen=True)
class WindowState:
    """What closing an order's windows reads: see `Orders.load_window`."""

    order: Order
    account: Account | None
    activations: dict[str, dict[str, Any]]
    settled: dict[str, str]
    #: The subscription's other booked orders.
    other_orders: list[Order]


@dataclass(frozen=True)
class SubscriptionState:
    """What invoicing a subscription's later periods reads: see `Orders.load_subscription`."""

    orders: list[Order]
    account: Account | None
    #: order id -> line id -> its first activation ({"ts", "at", "event_id"}).
    activations: dict[str, dict[str, dict[str, Any]]]
    #: period key -> the invoice number that billed it.
    billed_periods: dict[str, str]


def activation_value(at: datetime, event_id: str) -> str:
    """A line's activation as stored: "<Unix time> <UTC offset in seconds> <event id>". Under 64
    bytes with an event id of up to ~45 characters (a UUID is 36), so the order's activations
    hash keeps Redis's compact encoding; the ISO 8601 time kept before (25 characters) put a
    UUID's activation over it (a hashtable: ~200 bytes a line instead of ~60). The Lua scripts
    read the first and last parts only."""
    offset = at.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    return f"{at.timestamp()!r} {seconds} {event_id}"


def activation_from(raw: bytes | str) -> dict[str, Any]:
    """{"ts", "at", "event_id"} of a stored activation (any format: JSON before 2026-11-22, an
    ISO 8601 time in the middle before 2026-12-03)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith("{"):  # written before 2026-11-22
        return json.loads(text)
    ts, middle, event_id = text.split(" ", 2)
    if "T" in middle:  # the ISO 8601 time itself
        return {"ts": float(ts), "at": middle, "event_id": event_id}
    at = datetime.fromtimestamp(float(ts), timezone(timedelta(seconds=int(middle))))
    return {"ts": float(ts), "at": at.isoformat(), "event_id": event_id}


#: What the field of a settled line starts with in its order's activations hash (its invoice
#: number, or "-" for a line billed nothing), the prefix alone marking that the order has
#: settled lines. A line id never starts with it (the contract refuses control characters).
#: Until 2026-12-04 they had a hash of their own (`Keys.settled`), still read.
SETTLED_PREFIX = "\x00"
_SETTLED = SETTLED_PREFIX.encode()

#: What the field of an order id starts with in its account's hash, beside the snapshot's
#: fields: one key per account instead of two (~100 B each). An id never starts with it (the
#: contract refuses control characters).
ACCOUNT_ORDER_PREFIX = "\x01"
_ACCOUNT_ORDER = ACCOUNT_ORDER_PREFIX.encode()


def split_activations(flat: list[bytes]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """An order's activations hash (HGETALL, flat) as its activations and its settled lines."""
    activations: dict[str, dict[str, Any]] = {}
    settled: dict[str, str] = {}
    for field, value in zip(flat[::2], flat[1::2], strict=False):
        if field.startswith(_SETTLED):
            if field != _SETTLED:
                settled[field[len(_SETTLED) :].decode()] = value.decode()
        else:
            activations[field.decode()] = activation_from(value)
    return activations, settled


class Orders:
    """Accounts, orders and activations."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def save_account(self, account: Account, occurred_at: datetime) -> bool:
        """Keep the later snapshot of an account. The body is the whole `Account` as a record
        (`worker.store.account_records`) of its JSON: a field added to it later (the invoice
        document's, issue 13) has a default, and an account stored before it loads with that
        default."""
        body = account_records.encode(account)
        return bool(
            await self.db.script(
                "save_account", keys=[self.keys.account(account.account_id)], args=[occurred_at.timestamp(), body]
            )
        )

    async def load_account(self, account_id: str) -> Account | None:
        body = await self.db.command("hget", self.keys.account(account_id), "body")
        return account_records.decode(body) if body else None

    async def save_order(self, order: Order, event_id: str | None = None) -> bool:
        """Keep the first booking of an order id (orders are immutable), with the id of the event
        that booked it, as a compact record (`worker.store.order_records`)."""
        pipe = self.db.transaction()
        pipe.set(self.keys.order(order.order_id), order_records.encode(order, event_id), nx=True)
        pipe.hsetnx(self.keys.account(order.account_id), ACCOUNT_ORDER_PREFIX + order.order_id, "")
        await self.subscription_order_in(pipe, "add", order.subscription_id, order.order_id)
        created = (await pipe.execute())[0]
        return bool(created)

    async def subscription_order_in(self, pipe: Pipeline, op: str, subscription_id: str, order_id: str) -> None:
        """Queue on `pipe` adding an order to its subscription's orders (`op` "add"), or taking
        it away ("remove"): subscription_order.lua."""
        await self.db.script_in(
            pipe,
            "subscription_order",
            keys=[
                self.keys.subscription_order_ids(subscription_id),
                self.keys.subscription_orders(subscription_id),
                self.keys.subscription_order_level,
            ],
            args=[
                op,
                subscription_id,
                order_id,
                pattern_of(self.keys.subscription_order_bucket),
                *growing_buckets.script_args(),
                growing_buckets.COMPACT_VALUE_BYTES,
            ],
        )

    async def order_event_id(self, order_id: str) -> str | None:
        """The id of the event that booked the order: in its record, or (booked before records
        existed) in a key of its own."""
        record, legacy = await asyncio.gather(
            self.db.command("get", self.keys.order(order_id)), self.db.command("get", self.keys.order_event(order_id))
        )
        event_id = order_records.booking_event(record) if record else None
        return event_id or (legacy.decode() if legacy else None)

    async def remove_order(self, order: Order) -> None:
        """Forget a booked order as if its event had been rejected on arrival (activations stay)."""
        event_id = await self.order_event_id(order.order_id)
        order_key = self.keys.order(order.order_id)
        async with self.db.transaction() as pipe:
            while True:
                try:
                    # The line state its record holds goes back to the hash, unchanged since read.
                    await pipe.watch(order_key)
                    record = await pipe.get(order_key)
                    state = order_records.line_state(record) if isinstance(record, bytes) else []
                    pipe.multi()
                    if state:
                        pipe.hset(
                            self.keys.activations(order.order_id),
                            mapping=dict(zip(state[::2], state[1::2], strict=True)),
                        )
                    pipe.delete(order_key, self.keys.order_event(order.order_id))
                    pipe.srem(self.keys.account_orders(order.account_id), order.order_id)
                    pipe.hdel(self.keys.account(order.account_id), ACCOUNT_ORDER_PREFIX + order.order_id)
                    pipe.hdel(self.keys.account_order_ids(order.account_id), order.order_id)
                    await self.subscription_order_in(pipe, "remove", order.subscription_id, order.order_id)
                    if event_id:
                        pipe.delete(self.keys.event(event_id))
                    await pipe.execute()
                    return
                except WatchError:
                    continue  # an activation or a settlement wrote the record meanwhile

    async def settled_any(self, order_id: str) -> bool:
        """Whether a window of the order settled lines (invoiced them, or found nothing to bill)."""
        marked, before, record = await asyncio.gather(  # one round trip
            self.db.command("hexists", self.keys.activations(order_id), SETTLED_PREFIX),
            self.db.command("exists", self.keys.settled(order_id)),
            self.db.command("get", self.keys.order(order_id)),
        )
        in_record = record is not None and _SETTLED in order_records.line_state(record)[::2]
        return bool(marked or before or in_record)

    async def load_order(self, order_id: str) -> Order | None:
        body = await self.db.command("get", self.keys.order(order_id))
        return order_records.decode(body) if body else None

    async def account_orders(self, account_id: str) -> list[str]:
        """The account's order ids: in its hash, and (booked before 2026-12-07) in a hash of
        their own, or (before 2026-12-03) in a set."""
        fields, ids, legacy = await asyncio.gather(
            self.db.command("hkeys", self.keys.account(account_id)),
            self.db.command("hkeys", self.keys.account_order_ids(account_id)),
            self.db.command("smembers", self.keys.account_orders(account_id)),
        )
        own = [f[len(_ACCOUNT_ORDER) :] for f in fields if f.startswith(_ACCOUNT_ORDER)]
        return sorted({m.decode() for m in (*own, *ids, *legacy)})

    async def apply_activations(self, activations: list[ActivationToApply], *, due_at: float) -> list[str]:
        """Apply service.activated events in one round trip (scripts/apply_activation.lua for
        each, in order); returns for each "applied", "seen" (a replay: no effect) or "unknown_line" (the
        booked order has no such line: nothing was changed)."""
        if not activations:
            return []
        outcomes = await asyncio.gather(
            *(  # one round trip, in this order
                self.db.script(
                    "apply_activation",
                    keys=[
                        self.keys.event(item.event_id),
                        self.keys.order(item.order_id),
                        self.keys.activations(item.order_id),
                        self.keys.due,
                        self.keys.settled(item.order_id),
                    ],
                    args=[
                        item.line_id,
                        item.at.timestamp(),
                        activation_value(item.at, item.event_id),
                        repr(due_at),
                        self.db.event_ttl_s,
                        window_member(item.order_id),
                        pattern_of(period_member),
                        pattern_of(self.keys.event),
                        SETTLED_PREFIX,
                    ],
                )
                for item in activations
            )
        )
        return [r.decode() if isinstance(r, bytes) else str(r) for r in outcomes]

    async def load_window(self, order_id: str) -> WindowState | None:
        """The order with all its window closing reads (one round trip), or None when not booked."""
        reply = await self.db.script(
            "load_window",
            keys=[
                self.keys.order(order_id),
                self.keys.activations(order_id),
                self.keys.settled(order_id),
                self.keys.subscription_order_level,
            ],
            args=[
                order_id,
                pattern_of(self.keys.account),
                pattern_of(self.keys.subscription_orders),
                pattern_of(self.keys.order),
                pattern_of(self.keys.subscription_order_ids),
                pattern_of(self.keys.subscription_order_bucket),
                growing_buckets.BASE,
            ],
        )
        if reply is None:
            return None
        order, account, flat, settled_before, siblings = reply
        activations, settled = split_activations([*flat, *order_records.line_state(order)])
        before = {k.decode(): v.decode() for k, v in zip(settled_before[::2], settled_before[1::2], strict=False)}
        return WindowState(
            order=order_records.decode(order),
            account=account_records.decode(account) if account else None,
            activations=activations,
            settled={**before, **settled},
            other_orders=[order_records.decode(body) for body in siblings],
        )

    async def load_subscription(self, subscription_id: str) -> SubscriptionState:
        """The subscription's booked orders (by order id) with their activations, the first
        order's account and the periods billed so far, in one round trip."""
        orders, activations, account, periods = await self.db.script(
            "load_subscription",
            keys=[
                self.keys.subscription_orders(subscription_id),
                self.keys.subscription_periods(subscription_id),
                self.keys.subscription_order_ids(subscription_id),
                self.keys.subscription_order_level,
            ],
            args=[
                pattern_of(self.keys.order),
                pattern_of(self.keys.activations),
                pattern_of(self.keys.account),
                subscription_id,
                pattern_of(self.keys.subscription_order_bucket),
                growing_buckets.BASE,
            ],
        )
        loaded = [order_records.decode(body) for body in orders]
        return SubscriptionState(
            orders=loaded,
            account=account_records.decode(account) if account else None,
            activations={
                order.order_id: split_activations([*flat, *order_records.line_state(body)])[0]
                for order, body, flat in zip(loaded, orders, activations, strict=False)
            },
            billed_periods={k.decode(): v.decode() for k, v in zip(periods[::2], periods[1::2], strict=False)},
        )

    async def load_activations(self, order_id: str) -> dict[str, dict[str, Any]]:
        raw, record = await asyncio.gather(  # one round trip
            self.db.command("hgetall", self.keys.activations(order_id)),
            self.db.command("get", self.keys.order(order_id)),
        )
        state = order_records.line_state(record) if record else []
        return split_activations([*(part for pair in raw.items() for part in pair), *state])[0]
