"""The store's due-time index (one sorted set, claimed under leases) and its locks (a part of
`worker.store.store.Store`)."""

from __future__ import annotations

import secrets

# Claim due members: hide each for a lease, so that a crashed claimer's work comes back.
_CLAIM_DUE = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, member in ipairs(members) do
  local lease = tostring(tonumber(ARGV[2]) + i * 1e-6)
  redis.call('ZADD', KEYS[1], lease, member)
  redis.call('ZADD', KEYS[2], lease, member)
  out[#out + 1] = member
  out[#out + 1] = lease
end
return out
"""

_CLAIM_MEMBER = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return ARGV[3]
"""

# Finish a claimed member only if nobody re-marked it meanwhile (compare and set on the score).
_FINISH_DUE = """
local leased = redis.call('ZSCORE', KEYS[2], ARGV[1])
if leased and tonumber(leased) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[2], ARGV[1]) end
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""

_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class DueStore:
    """Due times and locks."""

    #: Lua scripts this part of the store runs, by name (registered by `Store`).
    SCRIPTS = {
        "claim_due": _CLAIM_DUE,
        "claim_member": _CLAIM_MEMBER,
        "finish_due": _FINISH_DUE,
        "release_lock": _RELEASE_LOCK,
    }

    async def mark_due(self, member: str, at: float) -> None:
        """Make `member` due at `at`, or keep it due earlier if it already is (ZADD LT)."""
        await self._command("zadd", self.keys.due, {member: at}, lt=True)

    async def claim_due(self, now: float, lease_s: float, limit: int = 100) -> list[tuple[str, float]]:
        flat = await self._script("claim_due", keys=[self.keys.due, self.keys.leased], args=[now, now + lease_s, limit])
        return [(flat[i].decode(), float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def claim_member(self, member: str, now: float, lease_s: float) -> float | None:
        lease = await self._script(
            "claim_member", keys=[self.keys.due, self.keys.leased], args=[member, now, now + lease_s]
        )
        return float(lease) if lease is not None else None

    async def finish_due(self, member: str, lease: float, next_at: float | None) -> bool:
        args = [member, repr(lease), "" if next_at is None else repr(next_at)]
        return bool(await self._script("finish_due", keys=[self.keys.due, self.keys.leased], args=args))

    async def due_count(self, now: float) -> int:
        return await self._command("zcount", self.keys.due, "-inf", now)

    async def leased_count(self) -> int:
        """Claimed members not finished yet (in flight, or held by a worker that died)."""
        return await self._command("zcard", self.keys.leased)

    async def next_due_at(self) -> float | None:
        """The earliest due time in the index (a claimed member's is its lease's end), or None."""
        first = await self._command("zrange", self.keys.due, 0, 0, withscores=True)
        return first[0][1] if first else None

    async def due_score(self, member: str) -> float | None:
        return await self._command("zscore", self.keys.due, member)

    # -- locks -----------------------------------------------------------------------------------

    async def acquire_lock(self, name: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(8)
        ok = await self._command("set", self.keys.lock(name), token, nx=True, px=int(ttl_s * 1000))
        return token if ok else None

    async def release_lock(self, name: str, token: str) -> None:
        await self._script("release_lock", keys=[self.keys.lock(name)], args=[token])
