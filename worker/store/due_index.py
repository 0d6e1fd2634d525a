"""The store's due-time index (one sorted set, claimed under leases) and its locks: `DueIndex`,
the `due` part of `worker.store.store.Store`."""

from __future__ import annotations

import secrets

from worker.store.connection import Connection


class DueIndex:
    """Due times and locks."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def mark_due(self, member: str, at: float) -> None:
        """Make `member` due at `at`, or keep it due earlier if it already is (ZADD LT)."""
        await self.db.command("zadd", self.keys.due, {member: at}, lt=True)

    async def claim_due(self, now: float, lease_s: float, limit: int = 100) -> list[tuple[str, float]]:
        flat = await self.db.script(
            "claim_due", keys=[self.keys.due, self.keys.leased], args=[now, now + lease_s, limit]
        )
        return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def claim_member(self, member: str, now: float, lease_s: float) -> float | None:
        lease = await self.db.script(
            "claim_member", keys=[self.keys.due, self.keys.leased], args=[member, now, now + lease_s]
        )
        return float(lease) if lease is not None else None

    async def finish_due(self, member: str, lease: float, next_at: float | None) -> bool:
        args = [member, repr(lease), "" if next_at is None else repr(next_at)]
        return bool(await self.db.script("finish_due", keys=[self.keys.due, self.keys.leased], args=args))

    async def due_count(self, now: float) -> int:
        return await self.db.command("zcount", self.keys.due, "-inf", now)

    async def leased_count(self) -> int:
        """Claimed members not finished yet (in flight, or held by a worker that died)."""
        return await self.db.command("zcard", self.keys.leased)

    async def next_due_at(self) -> float | None:
        """The earliest due time in the index (a claimed member's is its lease's end), or None."""
        first = await self.db.command("zrange", self.keys.due, 0, 0, withscores=True)
        return first[0][1] if first else None

    async def due_score(self, member: str) -> float | None:
        return await self.db.command("zscore", self.keys.due, member)

    # -- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await self.db.command("set", self.keys.lock(name), token, nx=True, px=int(ttl_s * 1000))
        return token if ok else None

    async def release_lock(self, name: str, token: str) -> None:
        await self.db.script("release_lock", keys=[self.keys.lock(name)], args=[token])
