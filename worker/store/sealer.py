"""The sealing side of `ingest`: puts a secret, encrypted (`worker.store.cipher`), under a fresh
token in Redis, synchronously (ingest is not async), with the TTL of `SEALED_SECRET_TTL_S`.
`Events.unseal` reads it back."""

from __future__ import annotations

import time
from typing import Any

import redis

from worker.contract.sealed import new_token
from worker.store.cipher import SealingKeys, required
from worker.store.keys import Keys


def queue_seal(pipe: Any, keys: Keys, token: str, sealed: bytes, ttl_s: float) -> None:
    """Queue on `pipe` (a redis-py pipeline, sync or async) what keeps a sealed secret: the value
    under its token with its TTL, and its entry in the index by expiry (wall time: Redis expires
    the key by it) that the backlog gauge counts; what has expired leaves the index as new ones
    come."""
    now = time.time()
    pipe.set(keys.sealed(token), sealed, px=int(ttl_s * 1000))
    pipe.zadd(keys.sealed_index, {token: now + ttl_s})
    pipe.zremrangebyscore(keys.sealed_index, "-inf", now)


class Sealer:
    """Seals secrets with a synchronous Redis client, opened on first use (most events have none)."""

    def __init__(self, redis_url: str, keys: Keys, ttl_s: float, *, sealing: SealingKeys | None = None) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.ttl_s = ttl_s
        self.sealing = sealing
        self.client: redis.Redis | None = None

    def seal(self, secret: str) -> str:
        """Keep `secret` encrypted under a new token; returns the token.

        Raises:
          SealingKeyMissing: no SEALING_KEY is set (before anything is written).
        """
        sealing = required(self.sealing, "ingesting an event with a redemption code")
        if self.client is None:
            self.client = redis.Redis.from_url(self.redis_url)
        token = new_token()
        key = self.keys.sealed(token)
        pipe = self.client.pipeline(transaction=True)
        queue_seal(pipe, self.keys, token, sealing.seal(secret.encode(), bound_to=key), self.ttl_s)
        pipe.execute()
        return token

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
