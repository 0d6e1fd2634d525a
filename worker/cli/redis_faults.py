"""Redis faults as an operator reads them: one line naming the server (its password masked) and
what is wrong, and an exit status of their own (`REDIS_FAULT_EXIT`, README "Commands")."""

from __future__ import annotations

import redis
from dramatiq.errors import BrokerConnectionError

from worker.errors import InvoiceWorkerError

#: Exit status of a command that could not use Redis: unreachable, lost, full or refusing writes.
REDIS_FAULT_EXIT = 3
#: The exceptions that mean Redis itself failed (not a bad input or setting).
REDIS_FAULTS: tuple[type[Exception], ...] = (redis.RedisError, BrokerConnectionError)
#: Query parameters of a Redis URL that hold a secret.
_SECRET_PARAMETERS = frozenset({"password"})
MASK = "***"


def mask_url(url: str) -> str:
    """`url` with its password (in the authority or the query) shown as ``***``:
    ``redis://:s3cret@host:6379/0`` -> ``redis://:***@host:6379/0``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return MASK if url else url
    authority, slash, tail = _split_authority(rest)
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        authority = f"{user}:{MASK}@{host}" if has_password else authority
    path, question, query = tail.partition("?")
    if question:
        query = "&".join(_mask_parameter(p) for p in query.split("&"))
    return f"{scheme}://{authority}{slash}{path}{question}{query}"


def _split_authority(rest: str) -> tuple[str, str, str]:
    """ "user:pw@host:port", "/", "0?..." from what follows the scheme (the password may hold a
    "/" or "?": the authority ends at the first "/" after its last "@")."""
    at = rest.rfind("@")
    end = len(rest)
    for sep in "/?":
        found = rest.find(sep, at + 1)
        if found != -1:
            end = min(end, found)
    authority, tail = rest[:end], rest[end:]
    if tail.startswith("/"):
        return authority, "/", tail[1:]
    return authority, "", tail


def _mask_parameter(parameter: str) -> str:
    name, eq, _ = parameter.partition("=")
    return f"{name}={MASK}" if eq and name.lower() in _SECRET_PARAMETERS else parameter


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
