"""What the parts of the store share: one Redis client, one `Keys`, the Lua scripts registered on
that client (once), and one auto-pipeline that sends what a turn of the event loop issues together.

The scripts are files, `worker/store/scripts/<name>.lua` (shipped in the wheel as package data),
each opening with a header that names its KEYS and ARGV; a helper that several share is in
`scripts/lib/` and spliced into those that require it. They are read once per process and
registered once per client: redis-py keeps each one's SHA and `AutoPipeline` loads a script the
server does not know yet.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Literal, get_args

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

from worker.store.keys import Keys
from worker.store.redis_batch import AutoPipeline

#: Every script of the store: `worker/store/scripts/<name>.lua`.
ScriptName = Literal[
    "save_account",
    "apply_activation",
    "load_window",
    "load_subscription",
    "settle_window",
    "create_delivery",
    "store_message",
    "claim_due",
    "claim_member",
    "finish_due",
    "release_lock",
    "close_attempt",
    "renew_leases",
    "take_claims",
    "fail_due",
    "redeem_rewards",
    "remember_digest",
    "drop_fields",
    "fold_delivery",
    "fold_documents",
    "subscription_order",
]
SCRIPT_NAMES: tuple[ScriptName, ...] = get_args(ScriptName)

#: What a Redis that is down, restarting (LOADING), stalled or out of reach raises: the command
#: may or may not have run, and trying again later is the cure. (BusyLoadingError is a
#: ConnectionError in redis-py.)
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)


@cache
def script_sources() -> Mapping[ScriptName, str]:
    """name -> Lua source, read from the package once per process.

    Raises:
      RuntimeError: a script is missing, or a file is not a known script (the package is broken).
    """
    folder = files("worker.store") / "scripts"
    found = {entry.name.removesuffix(".lua") for entry in folder.iterdir() if entry.name.endswith(".lua")}
    if found != set(SCRIPT_NAMES):
        raise RuntimeError(f"worker/store/scripts: expected {sorted(SCRIPT_NAMES)}, found {sorted(found)}")
    return {
        name: _with_requirements(folder, (folder / f"{name}.lua").read_text(encoding="utf-8")) for name in SCRIPT_NAMES
    }


def _with_requirements(folder: Traversable, source: str) -> str:
    """`source` with each of its "-- requires: <name>" lines replaced by `scripts/lib/<name>.lua`
    (Redis runs one chunk per script, so a helper shared by several is spliced into each)."""
    return re.sub(
        r"^-- requires: (\w+)$",
        lambda found: (folder / "lib" / f"{found[1]}.lua").read_text(encoding="utf-8").rstrip("\n"),
        source,
        flags=re.MULTILINE,
    )


class Connection:
    """One Redis client (for one event loop, as the client is), its keys and its scripts."""

    def __init__(self, client: aioredis.Redis, keys: Keys, *, event_ttl_s: int) -> None:
        self.redis = client
        self.keys = keys
        #: How long a processed event id (and an event's first sight) is remembered (s).
        self.event_ttl_s = event_ttl_s
        self._scripts: dict[ScriptName, AsyncScript] = {
            name: client.register_script(source) for name, source in script_sources().items()
        }
        self.auto = AutoPipeline(client)

    def command(self, name: str, *args: Any, **options: Any) -> asyncio.Future[Any]:
        """A Redis command (a redis-py command method's name), sent with whatever else this
        loop's coroutines send in the same turn."""
        return self.auto.command(name, *args, **options)

    def script(self, name: ScriptName, *, keys: Sequence[str], args: Sequence[Any]) -> asyncio.Future[Any]:
        """A registered script, sent like `command`."""
        return self.auto.script(self._scripts[name], keys, args)

    async def script_in(self, pipe: Pipeline, name: ScriptName, *, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue a registered script on `pipe` (a transaction), which loads it if the server does
        not know it yet. (Awaiting it only queues it.)"""
        await self._scripts[name](keys=keys, args=args, client=pipe)

    def transaction(self) -> Pipeline:
        """A MULTI/EXEC pipeline of its own (not batched with other coroutines' commands)."""
        return self.redis.pipeline(transaction=True)
