"""The Redis store: events seen, accounts, orders, activations, invoices, deliveries, due times,
dead letters. Thin: it keeps and fetches state atomically and decides nothing.

One `Store`, put together from parts that each hold their own Lua scripts: `OrderStore`
(accounts, orders, activations), `DeliveryStore` (invoices, deliveries, suppression), `DueStore`
(the due-time index and locks) and `RewardStore` (sealed secrets, rewards, skipped and parked
events).

Multi-key updates that must not be torn apart by a crash or a second worker run as Lua scripts.
All keys are named in `worker.store.keys`. A single Redis (or a primary with replicas) is assumed: the
scripts build some keys from their arguments, which Redis Cluster would not allow.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from worker.errors import UnsafeRedis
from worker.store.deliveries import DeliveryStore
from worker.store.due_index import DueStore
from worker.store.keys import Keys
from worker.store.orders import OrderStore
from worker.store.redis_batch import AutoPipeline
from worker.store.rewards import RewardStore

#: Eviction policies that never drop keys. Any other could silently lose orders or deliveries.
SAFE_MAXMEMORY_POLICIES = frozenset({"noeviction"})
#: How long a processed event id is remembered (s): a replay within it has no effect at all.
DEFAULT_EVENT_TTL_S = 90 * 86400
#: Redis connections one process's event loop keeps at most, and how long a coroutine waits for one (s).
MAX_CONNECTIONS = 32
POOL_TIMEOUT_S = 30


class Store(OrderStore, DeliveryStore, DueStore, RewardStore):
    """Everything this service keeps in Redis, for one event loop (as its client is)."""

    def __init__(self, client: aioredis.Redis, keys: Keys, *, event_ttl_s: int = DEFAULT_EVENT_TTL_S) -> None:
        self.redis = client
        self.keys = keys
        self.event_ttl_s = event_ttl_s
        sources = {name: src for part in type(self).__mro__ for name, src in vars(part).get("SCRIPTS", {}).items()}
        self._scripts = {name: client.register_script(src) for name, src in sources.items()}
        self.auto = AutoPipeline(client)

    def _command(self, name: str, *args: Any, **options: Any) -> asyncio.Future:
        """A Redis command, sent with whatever else this loop's coroutines send in the same turn."""
        return self.auto.command(name, *args, **options)

    def _script(self, name: str, *, keys: list[Any], args: list[Any]) -> asyncio.Future:
        """A registered script, sent like `_command`."""
        return self.auto.script(self._scripts[name], keys, args)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "iw") -> Store:
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
        return bool(await self._command("exists", self.keys.event(event_id)))

    async def mark_event_done(self, event_id: str) -> None:
        await self._command("set", self.keys.event(event_id), b"1", ex=self.event_ttl_s)

    async def dead_letter(
        self, *, event_id: str, event_type: str, field: str, reason: str, event: Any, at: datetime
    ) -> bool:
        """Keep a rejected event with its reason (once per event id). The caller redacts secrets."""
        if not await self._command("sadd", self.keys.dead_letter_ids, event_id):
            return False
        entry = {
            "event_id": event_id,
            "type": event_type,
            "field": field,
            "reason": reason,
            "at": at.isoformat(),
            "event": event,
        }
        await self._command("rpush", self.keys.dead_letters, json.dumps(entry, default=str))
        return True

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self._command("lrange", self.keys.dead_letters, 0, -1)]
