"""The Redis store: events seen, accounts, orders, activations, invoices, deliveries, due times,
dead letters. Thin: it keeps and fetches state atomically and decides nothing.

Multi-key updates that must not be torn apart by a crash or a second worker run as Lua scripts.
All keys are named in `worker.keys`. A single Redis (or a primary with replicas) is assumed: the
scripts build some keys from their arguments, which Redis Cluster would not allow.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import TypeAdapter

from worker.delivery import RecipientState
from worker.errors import UnsafeRedis
from worker.due import deliver_member, event_member, period_member, window_member
from worker.keys import Keys
from worker.redis_batch import Batch
from worker.model import Account, Invoice, Order
from worker.smtp_replies import Outcome

_ACCOUNT = TypeAdapter(Account)
_ORDER = TypeAdapter(Order)
_INVOICE = TypeAdapter(Invoice)

#: Eviction policies that never drop keys. Any other could silently lose orders or deliveries.
SAFE_MAXMEMORY_POLICIES = frozenset({"noeviction"})
#: How long a processed event id is remembered (s): a replay within it has no effect at all.
DEFAULT_EVENT_TTL_S = 90 * 86400

# Keep the later of two account snapshots: events may arrive out of order.
_SAVE_ACCOUNT = """
local current = redis.call('HGET', KEYS[1], 'occurred_at')
if current and tonumber(current) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'occurred_at', ARGV[1], 'body', ARGV[2])
return 1
"""

# Keep the earliest activation of a line.
_RECORD_ACTIVATION = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and tonumber(cjson.decode(current)['ts']) <= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# Apply one service.activated event in one round trip: skip a replay (event marker), refuse a line
# that is not on an already booked order, keep the line's earliest activation, mark the order's
# window (and its subscription's later periods) due, and remember the event id, all or nothing.
_APPLY_ACTIVATION = """
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
if not current or tonumber(cjson.decode(current)['ts']) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
redis.call('ZADD', KEYS[4], 'LT', ARGV[4], ARGV[6])
if subscription then redis.call('ZADD', KEYS[4], 'LT', ARGV[4], ARGV[7] .. subscription) end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[5])
return 'applied'
"""

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

# Settle a closed window: number the invoice (no gaps: only on success) and create its delivery,
# all or nothing. Returns false when another worker settled any of the lines first. The new
# delivery's due member is created already claimed by the settler (until ARGV[9]), which sends it
# next; if it dies, the lease runs out and a scheduler hands the delivery to another worker.
_SETTLE_WINDOW = """
local settled, seq, invoices, due, deliveries, leased = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local prefix, now, number_format, body, recipients = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local lines = cjson.decode(ARGV[6])
for _, line in ipairs(lines) do
  if redis.call('HEXISTS', settled, line) == 1 then return false end
end
if body == '' then
  for _, line in ipairs(lines) do redis.call('HSET', settled, line, '-') end
  return ''
end
local number = string.format(number_format, redis.call('INCR', seq))
for _, line in ipairs(lines) do redis.call('HSET', settled, line, number) end
redis.call('SET', prefix .. ':invoice:' .. number, body)
redis.call('ZADD', invoices, now, number)
local delivery_id = 'invoice:' .. number
redis.call('HSET', prefix .. ':delivery:' .. delivery_id,
  'kind', 'invoice', 'key', number, 'created_at', now, 'recipients', recipients, 'locale', ARGV[7])
for address, state in pairs(cjson.decode(ARGV[8])) do
  redis.call('HSET', prefix .. ':delivery:' .. delivery_id .. ':rcpt', address, state)
end
redis.call('ZADD', deliveries, now, delivery_id)
redis.call('ZADD', due, ARGV[9], 'deliver:' .. delivery_id)
redis.call('ZADD', leased, ARGV[9], 'deliver:' .. delivery_id)
return number
"""

# Create any other delivery once: the same delivery id twice has the effect of once.
_CREATE_DELIVERY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'kind', ARGV[1], 'key', ARGV[2], 'created_at', ARGV[3],
  'recipients', ARGV[4], 'locale', ARGV[5], 'context', ARGV[6])
for address, state in pairs(cjson.decode(ARGV[7])) do redis.call('HSET', KEYS[2], address, state) end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[8])
redis.call('ZADD', KEYS[4], ARGV[3], 'deliver:' .. ARGV[8])
return 1
"""

# Claim due members: hide each for a lease, so that a crashed claimer's work comes back.
_CLAIM_DUE = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, member in ipairs(members) do
  local lease = tostring(tonumber(ARGV[2]) + i * 1e-6)
  redis.call('ZADD', KEYS[1], lease, member)
  redis.call('ZADD', KEYS[2], lease, member)
  out[#out + 1] = member
  out[#out + 1] = lease
end
return out
"""

_CLAIM_MEMBER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return ARGV[3]
"""

# Finish a claimed member only if nobody re-marked it meanwhile (compare and set on the score).
_FINISH_DUE = """
local leased = redis.call('ZSCORE', KEYS[2], ARGV[1])
if leased and tonumber(leased) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[1]) end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""

# Apply a planned rewards redemption once per event id, only if the lots it read and the
# invoice's redeemed total are unchanged (compare and set; the caller re-plans on "conflict").
_REDEEM_REWARDS = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 'done' end
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 'conflict' end
local changes = cjson.decode(ARGV[4])
for _, change in ipairs(changes) do
  if (redis.call('HGET', KEYS[1], change[1]) or '') ~= change[2] then return 'conflict' end
end
for _, change in ipairs(changes) do redis.call('HSET', KEYS[1], change[1], change[3]) end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
return 'applied'
"""

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: Redis connections one process's event loop keeps at most, and how long a coroutine waits for one (s).
MAX_CONNECTIONS = 32
POOL_TIMEOUT_S = 30

#: Invoice numbers: a prefix and a zero-padded sequence, allocated without gaps.
INVOICE_NUMBER_FORMAT = "INV-%07d"


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


@dataclass(frozen=True)
class OpenDelivery:
    """A delivery whose lock this worker holds (`token`); `delivery` is None when it is gone."""

    token: str
    delivery: dict[str, Any] | None
    states: dict[str, RecipientState]


def _delivery_from(raw: dict[bytes, bytes]) -> dict[str, Any] | None:
    if not raw:
        return None
    out: dict[str, Any] = {k.decode(): v for k, v in raw.items()}
    for name in ("kind", "key", "locale", "message_id"):
        if name in out:
            out[name] = out[name].decode()
    out["recipients"] = json.loads(out["recipients"])
    out["context"] = json.loads(out["context"]) if "context" in out else {}
    out["created_at"] = float(out["created_at"])
    return out


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _state_json(state: RecipientState) -> str:
    return json.dumps(asdict(state))


def _state_from(raw: bytes | str) -> RecipientState:
    data = json.loads(raw)
    data["state"] = Outcome(data["state"])
    return RecipientState(**data)


class Store:
    def __init__(self, client: aioredis.Redis, keys: Keys, *, event_ttl_s: int = DEFAULT_EVENT_TTL_S) -> None:
        self.redis = client
        self.keys = keys
        self.event_ttl_s = event_ttl_s
        self._scripts = {
            name: client.register_script(src)
            for name, src in {
                "save_account": _SAVE_ACCOUNT,
                "record_activation": _RECORD_ACTIVATION,
                "apply_activation": _APPLY_ACTIVATION,
                "load_window": _LOAD_WINDOW,
                "load_subscription": _LOAD_SUBSCRIPTION,
                "settle_window": _SETTLE_WINDOW,
                "create_delivery": _CREATE_DELIVERY,
                "claim_due": _CLAIM_DUE,
                "claim_member": _CLAIM_MEMBER,
                "finish_due": _FINISH_DUE,
                "release_lock": _RELEASE_LOCK,
                "redeem_rewards": _REDEEM_REWARDS,
            }.items()
        }

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "iw") -> "Store":
        # Many coroutines share one pool: wait for a free connection rather than fail.
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT_S)
        return cls(aioredis.Redis(connection_pool=pool), Keys(prefix))

    async def close(self) -> None:
        await self.redis.aclose()

    async def check_server(self) -> None:
        """Refuse a Redis that may evict keys.

        Raises:
          UnsafeRedis: naming the policy and how to fix it.
        """
        policy = (await self.redis.config_get("maxmemory-policy")).get("maxmemory-policy")
        if isinstance(policy, bytes):
            policy = policy.decode()
        if policy not in SAFE_MAXMEMORY_POLICIES:
            raise UnsafeRedis(
                f"Redis maxmemory-policy is {policy!r}: it may evict keys and lose invoices. "
                "Set `maxmemory-policy noeviction` (CONFIG SET or redis.conf)."
            )

    # -- events -------------------------------------------------------------------------------

    async def event_done(self, event_id: str) -> bool:
        return bool(await self.redis.exists(self.keys.event(event_id)))

    async def mark_event_done(self, event_id: str) -> None:
        await self.redis.set(self.keys.event(event_id), b"1", ex=self.event_ttl_s)

    async def dead_letter(self, *, event_id: str, event_type: str, field: str, reason: str, event: Any, at: datetime) -> bool:
        """Keep a rejected event with its reason (once per event id). The caller redacts secrets."""
        if not await self.redis.sadd(self.keys.dead_letter_ids, event_id):
            return False
        entry = {"event_id": event_id, "type": event_type, "field": field, "reason": reason,
                 "at": at.isoformat(), "event": event}
        await self.redis.rpush(self.keys.dead_letters, json.dumps(entry, default=str))
        return True

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(self.keys.dead_letters, 0, -1)]

    # -- accounts, orders, activations ----------------------------------------------------------

    async def save_account(self, account: Account, occurred_at: datetime) -> bool:
        body = _ACCOUNT.dump_json(account)
        return bool(await self._scripts["save_account"](keys=[self.keys.account(account.account_id)], args=[_ts(occurred_at), body]))

    async def load_account(self, account_id: str) -> Account | None:
        body = await self.redis.hget(self.keys.account(account_id), "body")
        return _ACCOUNT.validate_json(body) if body else None

    async def save_order(self, order: Order, event_id: str | None = None) -> bool:
        """Keep the first booking of an order id (orders are immutable)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.order(order.order_id), _ORDER.dump_json(order), nx=True)
        pipe.sadd(self.keys.account_orders(order.account_id), order.order_id)
        pipe.sadd(self.keys.subscription_orders(order.subscription_id), order.order_id)
        if event_id:
            pipe.set(self.keys.order_event(order.order_id), event_id, nx=True)
        created = (await pipe.execute())[0]
        return bool(created)

    async def order_event_id(self, order_id: str) -> str | None:
        raw = await self.redis.get(self.keys.order_event(order_id))
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

    async def subscription_orders(self, subscription_id: str) -> list[Order]:
        order_ids = sorted(m.decode() for m in await self.redis.smembers(self.keys.subscription_orders(subscription_id)))
        orders = [await self.load_order(order_id) for order_id in order_ids]
        return [order for order in orders if order is not None]

    async def load_settled_periods(self, subscription_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.subscription_periods(subscription_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def load_order(self, order_id: str) -> Order | None:
        body = await self.redis.get(self.keys.order(order_id))
        return _ORDER.validate_json(body) if body else None

    async def account_orders(self, account_id: str) -> list[str]:
        return sorted(m.decode() for m in await self.redis.smembers(self.keys.account_orders(account_id)))

    async def record_activation(self, order_id: str, line_id: str, at: datetime, event_id: str) -> bool:
        value = json.dumps({"ts": _ts(at), "at": at.isoformat(), "event_id": event_id})
        return bool(await self._scripts["record_activation"](keys=[self.keys.activations(order_id)], args=[line_id, _ts(at), value]))

    async def apply_activations(self, activations: list[ActivationToApply], *, due_at: float) -> list[str]:
        """Apply service.activated events in one round trip (`_APPLY_ACTIVATION` for each, in
        order); returns for each "applied", "seen" (a replay: no effect) or "unknown_line" (the
        booked order has no such line: nothing was changed)."""
        if not activations:
            return []
        batch = Batch(self.redis)
        for item in activations:
            value = json.dumps({"ts": _ts(item.at), "at": item.at.isoformat(), "event_id": item.event_id})
            batch.script(
                self._scripts["apply_activation"],
                [self.keys.event(item.event_id), self.keys.order(item.order_id),
                 self.keys.activations(item.order_id), self.keys.due],
                [item.line_id, _ts(item.at), value, repr(due_at), self.event_ttl_s,
                 window_member(item.order_id), period_member("")],
            )
        return [r.decode() if isinstance(r, bytes) else str(r) for r in await batch.execute()]

    async def load_window(self, order_id: str) -> WindowState | None:
        """The order with all its window closing reads (one round trip), or None when not booked."""
        reply = await self._scripts["load_window"](
            keys=[self.keys.order(order_id), self.keys.activations(order_id), self.keys.settled(order_id)],
            args=[self.keys.prefix, order_id],
        )
        if reply is None:
            return None
        order, account, activations, settled, siblings = reply
        return WindowState(
            order=_ORDER.validate_json(order),
            account=_ACCOUNT.validate_json(account) if account else None,
            activations={k.decode(): json.loads(v) for k, v in zip(activations[::2], activations[1::2])},
            settled={k.decode(): v.decode() for k, v in zip(settled[::2], settled[1::2])},
            other_orders=[_ORDER.validate_json(body) for body in siblings],
        )

    async def load_subscription(self, subscription_id: str) -> SubscriptionState:
        """The subscription's booked orders (by order id) with their activations, the first
        order's account and the periods billed so far, in one round trip."""
        orders, activations, account, periods = await self._scripts["load_subscription"](
            keys=[self.keys.subscription_orders(subscription_id), self.keys.subscription_periods(subscription_id)],
            args=[self.keys.prefix],
        )
        loaded = [_ORDER.validate_json(body) for body in orders]
        return SubscriptionState(
            orders=loaded,
            account=_ACCOUNT.validate_json(account) if account else None,
            activations={
                order.order_id: {k.decode(): json.loads(v) for k, v in zip(flat[::2], flat[1::2])}
                for order, flat in zip(loaded, activations)
            },
            billed_periods={k.decode(): v.decode() for k, v in zip(periods[::2], periods[1::2])},
        )

    async def load_activations(self, order_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.redis.hgetall(self.keys.activations(order_id))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    async def load_settled(self, order_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.settled(order_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    # -- invoices and deliveries -----------------------------------------------------------------

    async def settle_window(
        self,
        order_id: str,
        line_ids: tuple[str, ...],
        invoice: Invoice | None,
        *,
        recipients: dict[str, list[dict[str, str]]],
        locale: str,
        states: dict[str, RecipientState],
        now: datetime,
        lease: float,
    ) -> str | None:
        """Settle the lines atomically; returns the invoice number, "" when nothing was billable,
        or None when another worker settled them first. The new delivery is claimed until `lease`."""
        return await self._settle(self.keys.settled(order_id), line_ids, invoice,
                                  recipients=recipients, locale=locale, states=states, now=now, lease=lease)

    async def settle_periods(
        self,
        subscription_id: str,
        period_keys: tuple[str, ...],
        invoice: Invoice,
        *,
        recipients: dict[str, list[dict[str, str]]],
        locale: str,
        states: dict[str, RecipientState],
        now: datetime,
        lease: float,
    ) -> str | None:
        """Settle later billing periods atomically (same script as a window: no period invoiced
        twice, numbers without gaps); returns the invoice number, or None when another worker
        settled any of them first. The new delivery is claimed until `lease`."""
        return await self._settle(self.keys.subscription_periods(subscription_id), period_keys, invoice,
                                  recipients=recipients, locale=locale, states=states, now=now, lease=lease)

    async def _settle(
        self,
        settled_key: str,
        line_ids: tuple[str, ...],
        invoice: Invoice | None,
        *,
        recipients: dict[str, list[dict[str, str]]],
        locale: str,
        states: dict[str, RecipientState],
        now: datetime,
        lease: float,
    ) -> str | None:
        result = await self._scripts["settle_window"](
            keys=[settled_key, self.keys.invoice_seq, self.keys.invoices, self.keys.due, self.keys.deliveries,
                  self.keys.leased],
            args=[
                self.keys.prefix,
                _ts(now),
                INVOICE_NUMBER_FORMAT,
                _INVOICE.dump_json(invoice) if invoice else "",
                json.dumps(recipients),
                json.dumps(list(line_ids)),
                locale,
                json.dumps({a: _state_json(s) for a, s in states.items()}),
                repr(lease),
            ],
        )
        if result is None:
            return None
        return result.decode() if isinstance(result, bytes) else str(result)

    async def load_invoice(self, number: str) -> Invoice | None:
        body = await self.redis.get(self.keys.invoice(number))
        if not body:
            return None
        return replace(_INVOICE.validate_json(body), number=number)

    async def invoice_numbers(self) -> list[str]:
        return [m.decode() for m in await self.redis.zrange(self.keys.invoices, 0, -1)]

    async def create_delivery(
        self,
        delivery_id: str,
        *,
        kind: str,
        key: str,
        recipients: dict[str, list[dict[str, str]]],
        locale: str,
        context: dict[str, Any],
        states: dict[str, RecipientState],
        now: datetime,
    ) -> bool:
        return bool(
            await self._scripts["create_delivery"](
                keys=[self.keys.delivery(delivery_id), self.keys.delivery_recipients(delivery_id), self.keys.deliveries, self.keys.due],
                args=[kind, key, _ts(now), json.dumps(recipients), locale, json.dumps(context, default=str),
                      json.dumps({a: _state_json(s) for a, s in states.items()}), delivery_id],
            )
        )

    async def load_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        return _delivery_from(await self.redis.hgetall(self.keys.delivery(delivery_id)))

    async def open_delivery(self, delivery_id: str, lock_ttl_s: float) -> OpenDelivery | None:
        """Take the delivery's lock and read the delivery and its recipients' states, in one
        round trip; None when another worker holds the lock."""
        token = secrets.token_hex(8)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.keys.lock(f"delivery:{delivery_id}"), token, nx=True, px=int(lock_ttl_s * 1000))
        pipe.hgetall(self.keys.delivery(delivery_id))
        pipe.hgetall(self.keys.delivery_recipients(delivery_id))
        locked, delivery, states = await pipe.execute()
        if not locked:
            return None
        return OpenDelivery(token, _delivery_from(delivery), {k.decode(): _state_from(v) for k, v in states.items()})

    async def close_delivery(
        self,
        delivery_id: str,
        token: str,
        *,
        states: dict[str, RecipientState],
        log: dict[str, Any] | None,
        lease: float,
        next_at: float | None,
    ) -> None:
        """Record the attempt's outcomes, set the delivery's next due time (or clear it) and
        release its lock, in one round trip."""
        batch = Batch(self.redis)
        if states:
            batch.pipe.hset(self.keys.delivery_recipients(delivery_id), mapping={a: _state_json(st) for a, st in states.items()})
            if log is not None:
                batch.pipe.rpush(self.keys.delivery_log(delivery_id), json.dumps(log, default=str))
        batch.script(self._scripts["finish_due"], [self.keys.due, self.keys.leased],
                     [deliver_member(delivery_id), repr(lease), "" if next_at is None else repr(next_at)])
        batch.script(self._scripts["release_lock"], [self.keys.lock(f"delivery:{delivery_id}")], [token])
        await batch.execute()

    async def store_message(
        self, delivery_id: str, message: bytes, message_id: str, *, sending: dict[str, RecipientState] | None = None
    ) -> bytes:
        """Keep the first built message of a delivery: every retry sends the same bytes. With
        `sending`, those recipient states are saved in the same round trip."""
        key = self.keys.delivery(delivery_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(key, "message", message)
        pipe.hsetnx(key, "message_id", message_id)
        pipe.hget(key, "message")
        if sending:
            pipe.hset(self.keys.delivery_recipients(delivery_id), mapping={a: _state_json(st) for a, st in sending.items()})
        return (await pipe.execute())[2]

    async def recipient_states(self, delivery_id: str) -> dict[str, RecipientState]:
        raw = await self.redis.hgetall(self.keys.delivery_recipients(delivery_id))
        return {k.decode(): _state_from(v) for k, v in raw.items()}

    async def save_recipient_states(self, delivery_id: str, states: dict[str, RecipientState], log: dict[str, Any] | None = None) -> None:
        if not states:
            return
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.delivery_recipients(delivery_id), mapping={a: _state_json(s) for a, s in states.items()})
        if log is not None:
            pipe.rpush(self.keys.delivery_log(delivery_id), json.dumps(log, default=str))
        await pipe.execute()

    async def append_delivery_log(self, delivery_id: str, entry: dict[str, Any]) -> None:
        await self.redis.rpush(self.keys.delivery_log(delivery_id), json.dumps(entry, default=str))

    async def delivery_log(self, delivery_id: str) -> list[dict[str, Any]]:
        return [json.loads(r) for r in await self.redis.lrange(self.keys.delivery_log(delivery_id), 0, -1)]

    async def delivery_ids(self) -> list[str]:
        return [m.decode() for m in await self.redis.zrange(self.keys.deliveries, 0, -1)]

    # -- due times -----------------------------------------------------------------------------

    async def mark_due(self, member: str, at: float) -> None:
        """Make `member` due at `at`, or keep it due earlier if it already is (ZADD LT)."""
        await self.redis.zadd(self.keys.due, {member: at}, lt=True)

    async def claim_due(self, now: float, lease_s: float, limit: int = 100) -> list[tuple[str, float]]:
        flat = await self._scripts["claim_due"](keys=[self.keys.due, self.keys.leased], args=[now, now + lease_s, limit])
        return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def claim_member(self, member: str, now: float, lease_s: float) -> float | None:
        lease = await self._scripts["claim_member"](keys=[self.keys.due, self.keys.leased], args=[member, now, now + lease_s])
        return float(lease) if lease is not None else None

    async def finish_due(self, member: str, lease: float, next_at: float | None) -> bool:
        args = [member, repr(lease), "" if next_at is None else repr(next_at)]
        return bool(await self._scripts["finish_due"](keys=[self.keys.due, self.keys.leased], args=args))

    async def due_count(self, now: float) -> int:
        return await self.redis.zcount(self.keys.due, "-inf", now)

    async def leased_count(self) -> int:
        """Claimed members not finished yet (in flight, or held by a worker that died)."""
        return await self.redis.zcard(self.keys.leased)

    async def due_score(self, member: str) -> float | None:
        return await self.redis.zscore(self.keys.due, member)

    # -- sealed secrets, rewards, skipped events --------------------------------------------------

    async def seal(self, secret: str, ttl_s: float) -> str:
        """Keep a secret under a new random token for at most `ttl_s`; returns the token."""
        token = secrets.token_urlsafe(18)
        await self.redis.set(self.keys.sealed(token), secret.encode(), px=int(ttl_s * 1000))
        return token

    async def unseal(self, token: str) -> str | None:
        raw = await self.redis.get(self.keys.sealed(token))
        return raw.decode() if raw is not None else None

    async def forget_sealed(self, token: str) -> None:
        await self.redis.delete(self.keys.sealed(token))

    async def forget_message(self, delivery_id: str) -> None:
        """Drop a delivery's built message bytes (they may hold a secret once it is sent)."""
        await self.redis.hdel(self.keys.delivery(delivery_id), "message")

    async def first_seen(self, event_id: str, now: float) -> float:
        """When the event was first tried (set now if never)."""
        key = self.keys.event_first_seen(event_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, repr(now), nx=True, ex=self.event_ttl_s)
        pipe.get(key)
        _, stored = await pipe.execute()
        return float(stored)

    async def add_reward_lot(self, account_id: str, lot_id: str, lot_json: str) -> bool:
        """Keep a lot once: the same month accrued twice has the effect of once."""
        return bool(await self.redis.hsetnx(self.keys.reward_lots(account_id), lot_id, lot_json))

    async def reward_lots(self, account_id: str) -> dict[str, str]:
        """lot id -> the lot's JSON exactly as stored (the compare-and-set of `redeem_rewards` uses it)."""
        raw = await self.redis.hgetall(self.keys.reward_lots(account_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def rewards_redeemed(self, invoice_number: str) -> str:
        raw = await self.redis.get(self.keys.rewards_redeemed(invoice_number))
        return raw.decode() if raw is not None else ""

    async def redemption(self, event_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.redemption(event_id))
        return json.loads(raw) if raw is not None else None

    async def redeem_rewards(
        self,
        event_id: str,
        *,
        account_id: str,
        invoice_number: str,
        expected_redeemed: str,
        new_redeemed: str,
        lot_changes: list[tuple[str, str, str]],
        record: dict[str, Any],
    ) -> str:
        """Apply a redemption atomically: "applied", "done" (this event was applied before) or
        "conflict" (another redemption changed a lot or the invoice meanwhile: plan again)."""
        result = await self._scripts["redeem_rewards"](
            keys=[self.keys.reward_lots(account_id), self.keys.rewards_redeemed(invoice_number), self.keys.redemption(event_id)],
            args=[expected_redeemed, new_redeemed, json.dumps(record, default=str), json.dumps(lot_changes)],
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def record_skipped(self, *, event_id: str, event_type: str, reason: str, at: datetime) -> bool:
        """Keep a valid event that had no effect by rule, with why (once per event id)."""
        if not await self.redis.sadd(self.keys.skipped_ids, event_id):
            return False
        entry = {"event_id": event_id, "type": event_type, "reason": reason, "at": at.isoformat()}
        await self.redis.rpush(self.keys.skipped, json.dumps(entry))
        return True

    async def skipped(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(self.keys.skipped, 0, -1)]

    # -- parked events -----------------------------------------------------------------------

    async def park_event(self, event_id: str, account_id: str | None, raw: dict[str, Any], due_at: float) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.parked(event_id), json.dumps(raw, default=str))
        if account_id:
            pipe.sadd(self.keys.parked_by_account(account_id), event_id)
        pipe.zadd(self.keys.due, {event_member(event_id): due_at}, lt=True)
        await pipe.execute()

    async def load_parked(self, event_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.parked(event_id))
        return json.loads(raw) if raw else None

    async def unpark_event(self, event_id: str, account_id: str | None) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.parked(event_id))
        if account_id:
            pipe.srem(self.keys.parked_by_account(account_id), event_id)
        await pipe.execute()

    async def wake_parked(self, account_id: str, at: float) -> list[str]:
        """Make the events parked for an account due at `at`; returns their due members."""
        ids = [m.decode() for m in await self.redis.smembers(self.keys.parked_by_account(account_id))]
        for event_id in ids:
            await self.mark_due(event_member(event_id), at)
        return [event_member(event_id) for event_id in ids]

    # -- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await self.redis.set(self.keys.lock(name), token, nx=True, px=int(ttl_s * 1000))
        return token if ok else None

    async def release_lock(self, name: str, token: str) -> None:
        await self._scripts["release_lock"](keys=[self.keys.lock(name)], args=[token])

    # -- suppression and bounces -----------------------------------------------------------------

    async def suppress(self, address: str, *, reason: str, source: str, at: float, until: float) -> None:
        entry = {"address": address, "reason": reason, "source": source, "at": at, "until": until}
        await self.redis.hset(self.keys.suppressed, address.casefold(), json.dumps(entry))

    async def unsuppress(self, address: str) -> bool:
        return bool(await self.redis.hdel(self.keys.suppressed, address.casefold()))

    async def suppression(self, address: str, now: float) -> dict[str, Any] | None:
        """The address's live suppression entry; an expired one is dropped on sight."""
        return (await self.live_suppressions([address], now))[address]

    async def live_suppressions(self, addresses: list[str], now: float) -> dict[str, dict[str, Any] | None]:
        """Each address's live suppression entry or None, in one round trip; expired ones are
        dropped on sight."""
        if not addresses:
            return {}
        folded = [a.casefold() for a in addresses]
        out: dict[str, dict[str, Any] | None] = {}
        expired = []
        for address, key, raw in zip(addresses, folded, await self.redis.hmget(self.keys.suppressed, folded)):
            entry = json.loads(raw) if raw is not None else None
            if entry is not None and entry["until"] <= now:
                expired.append(key)
                entry = None
            out[address] = entry
        if expired:
            await self.redis.hdel(self.keys.suppressed, *expired)
        return out

    async def suppressions(self, now: float) -> list[dict[str, Any]]:
        entries = [json.loads(raw) for raw in (await self.redis.hgetall(self.keys.suppressed)).values()]
        return sorted((e for e in entries if e["until"] > now), key=lambda e: e["address"])

    async def first_sight_of_bounce(self, digest: str, ttl_s: int) -> bool:
        """True the first time a bounce message (by digest) is seen within `ttl_s`."""
        return bool(await self.redis.set(self.keys.bounce_seen(digest), b"1", nx=True, ex=ttl_s))

    async def claim_bounce_notice(self, address: str, period_s: float) -> bool:
        """True when no notice about `address` went out within the period; starts a new period."""
        return bool(await self.redis.set(self.keys.bounce_notice_sent(address.casefold()), b"1", nx=True, px=int(period_s * 1000)))
