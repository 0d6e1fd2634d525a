"""The sealing side of `ingest`: puts a secret, encrypted (`worker.store.cipher`), under a fresh
token in Redis, synchronously (ingest is not async), with the TTL of `SEALED_SECRET_TTL_S`.
`Events.unseal` reads it back."""

from __future__ import annotations

import time

import redis

from worker.contract.sealed import new_token
from worker.store.cipher import SealingKeys, required
from worker.store.keys import Keys


class Sealer:
    """Seals secrets with a synchronous Redis client, opened on first use (most events have none)."""

    def __init__(self, redis_url: str, keys: Keys, ttl_s: float, *, sealing: SealingKeys | None = None) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.ttl_ms = int(ttl_s * 1000)
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
        now = time.time()
        pipe = self.client.pipeline(transaction=False)
        pipe.set(key, sealing.seal(secret.encode(), bound_to=key), px=self.ttl_ms)
        pipe.zadd(self.keys.sealed_index, {token: now + self.ttl_ms / 1000})  # see Events.seal
        pipe.zremrangebyscore(self.keys.sealed_index, "-inf", now)
        pipe.execute()
        return token

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
