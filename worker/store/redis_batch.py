"""Redis commands and Lua scripts sent together: what the coroutines of one event loop send in
the same turn goes in one round trip.

Each round trip costs a worker far more than the command itself (a socket write and read on the
event loop, and a hand-off of the GIL; see README, Performance). Scripts go by SHA; when the
server does not know one (a fresh or restarted Redis), only the calls that failed for that reason
are run again, by the script object, which loads it. Nothing else is ever sent twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError


class AutoPipeline:
    """Commands that coroutines issue in the same turn of the event loop go to Redis together.

    A worker runs many coroutines at once (16 due members per message, several messages), each
    doing the same steps; each would pay its own round trip per command. Here every command
    issued before the loop's next turn joins one non-transactional pipeline, and each caller
    gets its own reply (or its own error). Commands of one coroutine keep their order (it awaits
    each); across coroutines there is no order to keep. For one event loop (like its client).
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._pending: list[
            tuple[Any, asyncio.Future[Any], tuple[AsyncScript, Sequence[Any], Sequence[Any]] | None]
        ] = []
        self._flushes: set[asyncio.Task[None]] = set()

    def command(self, name: str, *args: Any, **options: Any) -> asyncio.Future[Any]:
        """The reply of `name` (a redis-py command method) as a future."""
        return self._add(lambda pipe: getattr(pipe, name)(*args, **options), None)

    def script(self, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> asyncio.Future[Any]:
        """The reply of a registered script as a future."""
        return self._add(lambda pipe: pipe.evalsha(script.sha, len(keys), *keys, *args), (script, keys, args))

    def _add(self, queue: Any, script: tuple[AsyncScript, Sequence[Any], Sequence[Any]] | None) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        reply = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((queue, reply, script))
        return reply

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._send(batch))
        self._flushes.add(task)  # keep a reference until it is done
        task.add_done_callback(self._flushes.discard)

    async def _send(
        self, batch: list[tuple[Any, asyncio.Future[Any], tuple[AsyncScript, Sequence[Any], Sequence[Any]] | None]]
    ) -> None:
        pipe = self._client.pipeline(transaction=False)
        for queue, _, _ in batch:
            queue(pipe)
        try:
            replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # the connection failed: every caller sees it
            for _, reply, _ in batch:
                if not reply.done():
                    reply.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, reply, script), result in zip(batch, replies, strict=False):
            if isinstance(result, NoScriptError) and script is not None:
                try:
                    result = await script[0](keys=script[1], args=script[2])  # loads the script
                except Exception as exc:
                    result = exc
            if reply.done():  # the caller gave up (cancelled)
                continue
            if isinstance(result, Exception):
                reply.set_exception(result)
            else:
                reply.set_result(result)
