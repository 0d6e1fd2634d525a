"""The store's due-time index (one sorted set, claimed under leases) and its locks: `DueIndex`,
the `due` part of `worker.store.store.Store`."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from worker.store.connection import Connection

#: What `DueIndex.renew` says of each claim or lock.
RENEWED, HELD_BY_OTHER, HELD_BY_NONE = 1, 0, -1


@dataclass(frozen=True)
class LockHeld:
    """A lock to renew: its name and token, and the claim (member, lease) that guards it, if
    any: while that claim is still the holder's, an expired lock is taken again."""

    name: str
    token: str
    guard: tuple[str, float] | None = None


class DueIndex:
    """Due times and locks."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def mark_due(self, member: str, at: float) -> None:
        """Make `member` due at `at`, or keep it due earlier if it already is (ZADD LT)."""
        await self.db.command("zadd", self.keys.due, {member: at}, lt=True)

    @property
    def _claim_keys(self) -> list[str]:
        return [self.keys.due, self.keys.leased, self.keys.lease_renewals]

    @property
    def _finish_keys(self) -> list[str]:
        return [self.keys.due, self.keys.leased, self.keys.lease_renewals, self.keys.due_failures]

    async def claim_due(self, now: float, lease_s: float, limit: int = 100) -> list[tuple[str, float]]:
        """Claim up to `limit` members due at `now` for `lease_s`; returns (member, lease) pairs.
        The lease names the claim for `finish_due`, `fail_due` and `renew`, however often renewed."""
        flat = await self.db.script("claim_due", keys=self._claim_keys, args=[now, now + lease_s, limit])
        return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def claim_member(self, member: str, now: float, lease_s: float) -> float | None:
        lease = await self.db.script("claim_member", keys=self._claim_keys, args=[member, now, now + lease_s])
        return float(lease) if lease is not None else None

    async def finish_due(self, member: str, lease: float, next_at: float | None) -> bool:
        """End a claim: drop the member, or make it due at `next_at`; False when it was re-marked
        meanwhile (it stays due at that time) or the claim is another's."""
        args = [member, repr(lease), "" if next_at is None else repr(next_at)]
        return bool(await self.db.script("finish_due", keys=self._finish_keys, args=args))

    async def fail_due(
        self, member: str, lease: float | None, *, attempts: int, now: float, first_wait_s: float
    ) -> int:
        """Count an unforeseen error of `member` (claimed with `lease`, or None: not claimed, an
        event of a chunk just parked) and, below `attempts`, hold it back until its retry, at
        `now` plus `first_wait_s` doubled per earlier attempt. Returns the attempts so far; at
        `attempts` or more the caller dead-letters a claimed member, then finishes it (one not
        claimed is dropped here); 0 when the claim is another's (nothing counted)."""
        args = [member, "" if lease is None else repr(lease), attempts, repr(now), repr(first_wait_s)]
        return int(await self.db.script("fail_due", keys=self._finish_keys, args=args))

    async def take_claims(
        self, claims: Sequence[tuple[str, float]], *, now: float, lease_s: float
    ) -> list[float | None]:
        """Take claims (member, lease) over under new leases, as a worker starts on them: whoever
        held the old ones sees them taken. None for a claim that ended meanwhile (finished, or
        another worker's now): not to be worked on."""
        if not claims:
            return []
        args: list[Any] = [repr(now + lease_s), len(claims)]
        for member, lease in claims:
            args += [member, repr(lease)]
        leases = await self.db.script("take_claims", keys=self._claim_keys, args=args)
        return [float(lease) if lease else None for lease in leases]

    async def renew(
        self, claims: Sequence[tuple[str, float]], locks: Sequence[LockHeld], *, lease_s: float, now: float
    ) -> list[int]:
        """Extend claims (member, lease) to `now + lease_s` and locks to `lease_s`, in one script
        call. Returns a status per claim, then per lock: `RENEWED`, `HELD_BY_OTHER` (its lease ran
        out and another worker took it) or `HELD_BY_NONE` (finished or expired)."""
        if not claims and not locks:
            return []
        args: list[Any] = [repr(now + lease_s), max(1, int(lease_s * 1000)), len(claims)]
        for member, lease in claims:
            args += [member, repr(lease)]
        for lock in locks:
            guard_member, guard_lease = lock.guard if lock.guard is not None else ("", None)
            args += [lock.token, guard_member, "" if guard_lease is None else repr(guard_lease)]
        keys = self._claim_keys + [self.keys.lock(lock.name) for lock in locks]
        return [int(status) for status in await self.db.script("renew_leases", keys=keys, args=args)]

    async def failures(self, member: str) -> int:
        """Unforeseen errors counted for `member` since its last finished run."""
        return int(await self.db.command("hget", self.keys.due_failures, member) or 0)

    async def due_count(self, now: float) -> int:
        return await self.db.command("zcount", self.keys.due, "-inf", now)

    async def leased_count(self) -> int:
        """Claimed members not finished yet (in flight, waiting for a retry after an unforeseen
        error, or held by a worker that died)."""
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
