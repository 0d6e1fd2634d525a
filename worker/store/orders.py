"""The store's accounts, orders and activations, and what closing windows and invoicing later
periods read (a part of `worker.store.store.Store`)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from worker.domain.model import Account, Order
from worker.store.due_members import period_member, window_member

_ACCOUNT = TypeAdapter(Account)
_ORDER = TypeAdapter(Order)

# Keep the later of two account snapshots: events may arrive out of order.
_SAVE_ACCOUNT = """
local current = redis.call('HGET', KEYS[1], 'occurred_at')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'occurred_at', ARGV[1], 'body', ARGV[2])
return 1
"""

# The time of a stored activation (see `activation_value`), for the scripts that keep the earliest.
_ACTIVATED_TS = """
local function activated_ts(value)  -- "<ts> <time> <event id>", or JSON written before 2026-11-22
  if string.sub(value, 1, 1) == '{' then return tonumber(cjson.decode(value)['ts']) end
  return tonumber(string.match(value, '^%S+'))
end
"""

# Keep the earliest activation of a line.
_RECORD_ACTIVATION = (
    _ACTIVATED_TS
    + """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and activated_ts(current) <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)

# Apply one service.activated event in one round trip: skip a replay (event marker), refuse a line
# that is not on an already booked order, keep the line's earliest activation, mark the order's
# window (and its subscription's later periods) due, and remember the event id, all or nothing.
_APPLY_ACTIVATION = (
    _ACTIVATED_TS
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'seen' end
local order = redis.call('GET', KEYS[2])
local subscription = nil
if order then
  local decoded = cjson.decode(order)
  local found = false
  for _, line in ipairs(decoded['lines']) do
    if line['line_id'] == ARGV[1] then found = true break end
  end
  if not found then return 'unknown_line' end
  subscription = decoded['subscription_id']
end
local current = redis.call('HGET', KEYS[3], ARGV[1])
if not current or activated_ts(current) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
redis.call('ZADD', KEYS[4], 'LT', ARGV[4], ARGV[6])
if subscription then redis.call('ZADD', KEYS[4], 'LT', ARGV[4], ARGV[7] .. subscription) end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])
return 'applied'
"""
)

# Everything closing an order's windows reads, in one round trip: the order, its account's
# snapshot, its activations and settled lines, and the other orders of its subscription.
_LOAD_WINDOW = """
local order = redis.call('GET', KEYS[1])
if not order then return false end
local decoded = cjson.decode(order)
local prefix = ARGV[1]
local account = redis.call('HGET', prefix .. ':account:' .. decoded['account_id'], 'body') or ''
local siblings = {}
for _, id in ipairs(redis.call('SMEMBERS', prefix .. ':subscription:' .. decoded['subscription_id'] .. ':orders')) do
  if id ~= ARGV[2] then
    local body = redis.call('GET', prefix .. ':order:' .. id)
    if body then siblings[#siblings + 1] = body end
  end
end
return {order, account, redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]), siblings}
"""

# Everything invoicing a subscription's later periods reads, in one round trip: its orders (by
# order id) with their activations, the first order's account snapshot, the periods billed.
_LOAD_SUBSCRIPTION = """
local prefix = ARGV[1]
local ids = redis.call('SMEMBERS', KEYS[1])
table.sort(ids)
local orders, activations = {}, {}
for _, id in ipairs(ids) do
  local body = redis.call('GET', prefix .. ':order:' .. id)
  if body then
    orders[#orders + 1] = body
    activations[#activations + 1] = redis.call('HGETALL', prefix .. ':order:' .. id .. ':activations')
  end
end
local account = ''
if #orders > 0 then
  account = redis.call('HGET', prefix .. ':account:' .. cjson.decode(orders[1])['account_id'], 'body') or ''
end
return {orders, activations, account, redis.call('HGETALL', KEYS[2])}
"""


@dataclass(frozen=True)
class ActivationToApply:
    """A validated service.activated event, as `Store.apply_activations` takes it."""

    event_id: str
    order_id: str
    line_id: str
    at: datetime


@dataclass(frozen=True)
class WindowState:
    """What closing an order's windows reads: see `Store.load_window`."""

    order: Order
    account: Account | None
    activations: dict[str, dict[str, Any]]
    settled: dict[str, str]
    #: The subscription's other booked orders.
    other_orders: list[Order]


@dataclass(frozen=True)
class SubscriptionState:
    """What invoicing a subscription's later periods reads: see `Store.load_subscription`."""

    orders: list[Order]
    account: Account | None
    #: order id -> line id -> its first activation ({"ts", "at", "event_id"}).
    activations: dict[str, dict[str, dict[str, Any]]]
    #: period key -> the invoice number that billed it.
    billed_periods: dict[str, str]


def activation_value(at: datetime, event_id: str) -> str:
    """A line's activation as stored: "<Unix time> <ISO 8601 time> <event id>". Under 64 bytes
    with a short event id, so the order's activations hash keeps Redis's compact encoding (JSON
    did not: ~300 bytes per order instead of ~100)."""
    return f"{at.timestamp()!r} {at.isoformat()} {event_id}"


def activation_from(raw: bytes | str) -> dict[str, Any]:
    """{"ts", "at", "event_id"} of a stored activation (either format)."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    if text.startswith("{"):  # written before 2026-11-22
        return json.loads(text)
    ts, at, event_id = text.split(" ", 2)
    return {"ts": float(ts), "at": at, "event_id": event_id}


class OrderStore:
    """Accounts, orders and activations."""

    #: Lua scripts this part of the store runs, by name (registered by `Store`).
    SCRIPTS = {
        "save_account": _SAVE_ACCOUNT,
        "record_activation": _RECORD_ACTIVATION,
        "apply_activation": _APPLY_ACTIVATION,
        "load_window": _LOAD_WINDOW,
        "load_subscription": _LOAD_SUBSCRIPTION,
    }

    async def save_account(self, account: Account, occurred_at: datetime) -> bool:
        body = _ACCOUNT.dump_json(account)
        return bool(
            await self._script(
                "save_account", keys=[self.keys.account(account.account_id)], args=[occurred_at.timestamp(), body]
            )
        )

    async def load_account(self, account_id: str) -> Account | None:
        body = await self._command("hget", self.keys.account(account_id), "body")
        return _ACCOUNT.validate_json(body) if body else None

    async def save_order(self, order: Order, event_id: str | None = None) -> bool:
        """Keep the first booking of an order id (orders are immutable)."""
        pipe = self.redis.pipeline(transaction=True)
        # Defaults (absent optional fields) are left out: ~20% smaller, and read back the same.
        pipe.set(self.keys.order(order.order_id), _ORDER.dump_json(order, exclude_defaults=True), nx=True)
        pipe.sadd(self.keys.account_orders(order.account_id), order.order_id)
        pipe.sadd(self.keys.subscription_orders(order.subscription_id), order.order_id)
        if event_id:
            pipe.set(self.keys.order_event(order.order_id), event_id, nx=True)
        created = (await pipe.execute())[0]
        return bool(created)

    async def order_event_id(self, order_id: str) -> str | None:
        raw = await self._command("get", self.keys.order_event(order_id))
        return raw.decode() if raw else None

    async def remove_order(self, order: Order) -> None:
        """Forget a booked order as if its event had been rejected on arrival (activations stay)."""
        event_id = await self.order_event_id(order.order_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.order(order.order_id), self.keys.order_event(order.order_id))
        pipe.srem(self.keys.account_orders(order.account_id), order.order_id)
        pipe.srem(self.keys.subscription_orders(order.subscription_id), order.order_id)
        if event_id:
            pipe.delete(self.keys.event(event_id))
        await pipe.execute()

    async def load_order(self, order_id: str) -> Order | None:
        body = await self._command("get", self.keys.order(order_id))
        return _ORDER.validate_json(body) if body else None

    async def account_orders(self, account_id: str) -> list[str]:
        return sorted(m.decode() for m in await self._command("smembers", self.keys.account_orders(account_id)))

    async def record_activation(self, order_id: str, line_id: str, at: datetime, event_id: str) -> bool:
        value = activation_value(at, event_id)
        return bool(
            await self._script(
                "record_activation", keys=[self.keys.activations(order_id)], args=[line_id, at.timestamp(), value]
            )
        )

    async def apply_activations(self, activations: list[ActivationToApply], *, due_at: float) -> list[str]:
        """Apply service.activated events in one round trip (`_APPLY_ACTIVATION` for each, in
        order); returns for each "applied", "seen" (a replay: no effect) or "unknown_line" (the
        booked order has no such line: nothing was changed)."""
        if not activations:
            return []
        outcomes = await asyncio.gather(
            *(  # one round trip, in this order
                self._script(
                    "apply_activation",
                    keys=[
                        self.keys.event(item.event_id),
                        self.keys.order(item.order_id),
                        self.keys.activations(item.order_id),
                        self.keys.due,
                    ],
                    args=[
                        item.line_id,
                        item.at.timestamp(),
                        activation_value(item.at, item.event_id),
                        repr(due_at),
                        self.event_ttl_s,
                        window_member(item.order_id),
                        period_member(""),
                    ],
                )
                for item in activations
            )
        )
        return [r.decode() if isinstance(r, bytes) else str(r) for r in outcomes]

    async def load_window(self, order_id: str) -> WindowState | None:
        """The order with all its window closing reads (one round trip), or None when not booked."""
        reply = await self._script(
            "load_window",
            keys=[self.keys.order(order_id), self.keys.activations(order_id), self.keys.settled(order_id)],
            args=[self.keys.prefix, order_id],
        )
        if reply is None:
            return None
        order, account, activations, settled, siblings = reply
        return WindowState(
            order=_ORDER.validate_json(order),
            account=_ACCOUNT.validate_json(account) if account else None,
            activations={
                k.decode(): activation_from(v) for k, v in zip(activations[::2], activations[1::2], strict=False)
            },
            settled={k.decode(): v.decode() for k, v in zip(settled[::2], settled[1::2], strict=False)},
            other_orders=[_ORDER.validate_json(body) for body in siblings],
        )

    async def load_subscription(self, subscription_id: str) -> SubscriptionState:
        """The subscription's booked orders (by order id) with their activations, the first
        order's account and the periods billed so far, in one round trip."""
        orders, activations, account, periods = await self._script(
            "load_subscription",
            keys=[self.keys.subscription_orders(subscription_id), self.keys.subscription_periods(subscription_id)],
            args=[self.keys.prefix],
        )
        loaded = [_ORDER.validate_json(body) for body in orders]
        return SubscriptionState(
            orders=loaded,
            account=_ACCOUNT.validate_json(account) if account else None,
            activations={
                order.order_id: {k.decode(): activation_from(v) for k, v in zip(flat[::2], flat[1::2], strict=False)}
                for order, flat in zip(loaded, activations, strict=False)
            },
            billed_periods={k.decode(): v.decode() for k, v in zip(periods[::2], periods[1::2], strict=False)},
        )

    async def load_activations(self, order_id: str) -> dict[str, dict[str, Any]]:
        raw = await self._command("hgetall", self.keys.activations(order_id))
        return {k.decode(): activation_from(v) for k, v in raw.items()}
