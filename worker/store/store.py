"""The Redis store: events seen, accounts, orders, activations, invoices, deliveries, due times,
dead letters. Thin: it keeps and fetches state atomically and decides nothing.

One `Store` holds one part per aggregate, all sharing one `Connection` (one Redis client, one
`Keys`, the Lua scripts registered once on that client):

- `store.orders`: accounts, orders, activations (`worker.store.orders.Orders`);
- `store.deliveries`: invoices, deliveries, recipient states, suppression and bounces
  (`worker.store.deliveries.Deliveries`);
- `store.due`: the due-time index and locks (`worker.store.due_index.DueIndex`);
- `store.rewards`: rewards lots and redemptions (`worker.store.rewards.Rewards`);
- `store.documents`: each invoice's PDF and e-invoice XML as sent, and re-sent copies
  (`worker.store.documents.Documents`);
- `store.ledgers`: what covered each invoice, its dispute and credit, its reminders
  (`worker.store.ledgers.Ledgers`);
- `store.events`: processed events, dead letters, skipped and parked events, sealed secrets
  (`worker.store.events.Events`);
- `store.alerts`, `store.return_paths`, `store.installation`: setup alerts counted, VERP tokens,
  this installation's random id (`worker.store.alerts`, `.return_paths`, `.installation`).

Multi-key updates that must not be torn apart by a crash or a second worker run as Lua scripts
(`worker/store/scripts/*.lua`). All keys are named in `worker.store.keys` and passed to the
scripts in KEYS, except the few a script can only name at run time (see each script's header),
which it gets as patterns made there: a single Redis (or a primary with replicas) is assumed,
not Redis Cluster.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from worker.errors import UnsafeRedis
from worker.store.alerts import Alerts
from worker.store.backlog import Backlog, sample_backlog
from worker.store.cipher import SealingKeys
from worker.store.connection import Connection
from worker.store.deliveries import Deliveries
from worker.store.documents import Documents
from worker.store.due_index import DueIndex
from worker.store.events import Events
from worker.store.installation import Installation
from worker.store.keys import Keys
from worker.store.ledgers import Ledgers
from worker.store.orders import Orders
from worker.store.return_paths import ReturnPaths
from worker.store.rewards import Rewards

#: Eviction policies that never drop keys. Any other could silently lose orders or deliveries.
SAFE_MAXMEMORY_POLICIES = frozenset({"noeviction"})
#: How long a processed event id is remembered (s): a replay within it has no effect at all.
DEFAULT_EVENT_TTL_S = 90 * 86400
#: Redis connections one process's event loop keeps at most, and how long a coroutine waits for one (s).
MAX_CONNECTIONS = 32
POOL_TIMEOUT_S = 30
#: Tries of a command whose connection was found closed, and the backoff between them (s).
STALE_RETRIES = 2
STALE_RETRY_BASE_S = 0.05
STALE_RETRY_CAP_S = 0.5


class Store:
    """Everything this service keeps in Redis, for one event loop (as its client is)."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        event_ttl_s: int = DEFAULT_EVENT_TTL_S,
        sealing: SealingKeys | None = None,
    ) -> None:
        """`sealing`: the keys sealed secrets and built messages are encrypted with (None: a
        store that only reads what needs no key, as `status` does)."""
        self.db = Connection(client, keys, event_ttl_s=event_ttl_s)
        self.redis = client
        self.keys = keys
        self.orders = Orders(self.db)
        self.deliveries = Deliveries(self.db, sealing)
        self.due = DueIndex(self.db)
        self.rewards = Rewards(self.db)
        self.documents = Documents(self.db, sealing)
        self.ledgers = Ledgers(self.db)
        self.events = Events(self.db, sealing)
        self.alerts = Alerts(self.db)
        self.return_paths = ReturnPaths(self.db)
        self.installation = Installation(self.db)
        #: The server's URL for log lines (password masked).
        self.where = _where(client)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "iw", sealing: SealingKeys | None = None) -> Store:
        """A store on its own connection pool; the caller closes it (`close`). See `open`."""
        # Many coroutines share one pool: wait for a free connection rather than fail.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=POOL_TIMEOUT_S, retry=stale_connection_retry()
        )
        return cls(aioredis.Redis(connection_pool=pool), Keys(prefix), sealing=sealing)

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, *, prefix: str = "iw", sealing: SealingKeys | None = None) -> AsyncIterator[Store]:
        """``async with Store.open(url, prefix=...) as store:``, closed on the way out."""
        store = cls.from_url(url, prefix=prefix, sealing=sealing)
        try:
            yield store
        finally:
            await store.close()

    async def close(self) -> None:
        await self.redis.aclose()

    async def eviction_policy(self) -> str:
        """The server's `maxmemory-policy` (one cheap round trip: it also tells Redis answers)."""
        policy = (await self.redis.config_get("maxmemory-policy")).get("maxmemory-policy")
        return policy.decode() if isinstance(policy, bytes) else str(policy)

    async def backlog(self, now: float) -> Backlog:
        """What is waiting (due, retrying, parked, dead letters, sealed secrets): see `sample_backlog`."""
        return await sample_backlog(self.db, now)

    async def check_server(self) -> None:
        """Refuse a Redis that may evict keys.

        Raises:
          UnsafeRedis: naming the policy and how to fix it.
        """
        policy = await self.eviction_policy()
        if policy not in SAFE_MAXMEMORY_POLICIES:
            raise UnsafeRedis(unsafe_policy_message(policy))


def stale_connection_retry() -> Retry:
    """Try a command again on a fresh connection when its pooled one was closed under it (a
    Redis restart leaves every pooled connection dead: each would fail its next command).
    Connection errors only: a timed-out command may have run, and is the caller's to judge."""
    return Retry(
        ExponentialBackoff(cap=STALE_RETRY_CAP_S, base=STALE_RETRY_BASE_S), STALE_RETRIES, (RedisConnectionError,)
    )


def unsafe_policy_message(policy: str) -> str:
    """Why a Redis with this eviction policy is refused, and the fix."""
    return (
        f"Redis maxmemory-policy is {policy!r}: it may evict keys and lose invoices. "
        "Set `maxmemory-policy noeviction` (CONFIG SET or redis.conf)."
    )


def _where(client: aioredis.Redis) -> str:
    options = client.connection_pool.connection_kwargs
    if "path" in options:
        return f"unix:{options['path']}"
    user = options.get("username") or ""
    auth = f"{user}:***@" if options.get("password") else (f"{user}@" if user else "")
    return f"redis://{auth}{options.get('host', 'localhost')}:{options.get('port', 6379)}/{options.get('db', 0)}"
