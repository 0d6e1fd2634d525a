"""Several Redis commands and Lua scripts in one round trip.

Each round trip costs a worker far more than the command itself (a socket write and read on the
event loop, and a hand-off of the GIL; see README, Performance), so the hot paths send what they
can together. Scripts go by SHA; when the server does not know one (a fresh or restarted Redis),
only the calls that failed for that reason are run again, by the script object, which loads it.
Nothing else is ever sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


class Batch:
    """A non-transactional pipeline (`pipe`, for plain commands) that can also run scripts."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.pipe = client.pipeline(transaction=False)
        self._scripts: dict[int, tuple[AsyncScript, Sequence[Any], Sequence[Any]]] = {}

    def script(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> None:
        self._scripts[len(self.pipe)] = (script, keys, args)
        self.pipe.evalsha(script.sha, len(keys), *keys, *args)

    async def execute(self) -> list[Any]:
        """Every reply, in order.

        Raises:
          redis.RedisError: the first command that failed for another reason than a missing script.
        """
        if not len(self.pipe):
            return []
        replies = await self.pipe.execute(raise_on_error=False)
        for index, reply in enumerate(replies):
            if isinstance(reply, NoScriptError) and index in self._scripts:
                script, keys, args = self._scripts[index]
                replies[index] = await script(keys=keys, args=args)
            elif isinstance(reply, Exception):
                raise reply
        return replies
