"""Redis faults as an operator reads them: one line naming the server (its password masked) and
what is wrong, and an exit status of their own (`REDIS_FAULT_EXIT`, README "Commands")."""

from __future__ import annotations

import redis
from dramatiq.errors import BrokerConnectionError

from worker.errors import InvoiceWorkerError
from worker.store.redis_urls import mask_url

#: Exit status of a command that could not use Redis: unreachable, lost, full or refusing writes.
REDIS_FAULT_EXIT = 3
#: The exceptions that mean Redis itself failed (not a bad input or setting).
REDIS_FAULTS: tuple[type[Exception], ...] = (redis.RedisError, BrokerConnectionError)


def describe(exc: BaseException, url: str | None) -> str:
    """One line: which Redis, and what it did."""
    where = f"Redis at {mask_url(url)}" if url else "Redis"
    # A script's error comes as a plain ResponseError quoting the server's: "... -OOM command ...".
    if isinstance(exc, redis.exceptions.OutOfMemoryError) or "OOM command not allowed" in str(exc):
        what = "is full (maxmemory reached; noeviction refuses writes)"
    elif isinstance(exc, redis.exceptions.ReadOnlyError):
        what = "is a read-only replica"
    elif isinstance(exc, redis.exceptions.AuthenticationError):
        what = "refused the credentials"
    elif isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, BrokerConnectionError)):
        what = "is unreachable"
    else:
        what = "failed"
    detail = str(exc).strip()
    return f"{where} {what}: {detail}" if detail else f"{where} {what}"


class RedisUnavailable(InvoiceWorkerError):
    """A command could not use Redis; the message names the server with its password masked."""

    def __init__(self, exc: BaseException, url: str | None) -> None:
        self.cause = exc
        super().__init__(describe(exc, url))
