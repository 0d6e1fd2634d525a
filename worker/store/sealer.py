"""The sealing side of `ingest`: puts a secret under a fresh token in Redis, synchronously (ingest
is not async), with the TTL of `SEALED_SECRET_TTL_S`. `Events.unseal` reads it back."""

from __future__ import annotations

import redis

from worker.contract.sealed import new_token
from worker.store.keys import Keys


class Sealer:
    """Seals secrets with a synchronous Redis client, opened on first use (most events have none)."""

    def __init__(self, redis_url: str, keys: Keys, ttl_s: float) -> None:
        self.redis_url = redis_url
        self.keys = keys
        self.ttl_ms = int(ttl_s * 1000)
        self.client: redis.Redis | None = None

    def seal(self, secret: str) -> str:
        if self.client is None:
            self.client = redis.Redis.from_url(self.redis_url)
        token = new_token()
        self.client.set(self.keys.sealed(token), secret.encode(), px=self.ttl_ms)
        return token

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
