"""The store's sealed secrets, rewards lots and redemptions, skipped events and parked events (a
part of `worker.store.store.Store`)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from worker.store.due_members import event_member

# Apply a planned rewards redemption once per event id, only if the lots it read and the
# invoice's redeemed total are unchanged (compare and set; the caller re-plans on "conflict").
_REDEEM_REWARDS = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 'done' end
local current = redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then return 'conflict' end
local changes = cjson.decode(ARGV[4])
for _, change in ipairs(changes) do
  if (redis.call('HGET', KEYS[1], change[1]) or '') ~= change[2] then return 'conflict' end
end
for _, change in ipairs(changes) do redis.call('HSET', KEYS[1], change[1], change[3]) end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
return 'applied'
"""


class RewardStore:
    """Sealed secrets, rewards, skipped and parked events."""

    #: Lua scripts this part of the store runs, by name (registered by `Store`).
    SCRIPTS = {
        "redeem_rewards": _REDEEM_REWARDS,
    }

    async def seal(self, secret: str, ttl_s: float) -> str:
        """Keep a secret under a new random token for at most `ttl_s`; returns the token."""
        token = secrets.token_urlsafe(18)
        await self._command("set", self.keys.sealed(token), secret.encode(), px=int(ttl_s * 1000))
        return token

    async def unseal(self, token: str) -> str | None:
        raw = await self._command("get", self.keys.sealed(token))
        return raw.decode() if raw is not None else None

    async def forget_sealed(self, token: str) -> None:
        await self._command("delete", self.keys.sealed(token))

    async def forget_message(self, delivery_id: str) -> None:
        """Drop a delivery's built message bytes (they may hold a secret once it is sent)."""
        await self._command("hdel", self.keys.delivery(delivery_id), "message")

    async def first_seen(self, event_id: str, now: float) -> float:
        """When the event was first tried (set now if never)."""
        key = self.keys.event_first_seen(event_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, repr(now), nx=True, ex=self.event_ttl_s)
        pipe.get(key)
        _, stored = await pipe.execute()
        return float(stored)

    async def add_reward_lot(self, account_id: str, lot_id: str, lot_json: str) -> bool:
        """Keep a lot once: the same month accrued twice has the effect of once."""
        return bool(await self._command("hsetnx", self.keys.reward_lots(account_id), lot_id, lot_json))

    async def reward_lots(self, account_id: str) -> dict[str, str]:
        """lot id -> the lot's JSON exactly as stored (the compare-and-set of `redeem_rewards` uses it)."""
        raw = await self._command("hgetall", self.keys.reward_lots(account_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def rewards_redeemed(self, invoice_number: str) -> str:
        raw = await self._command("get", self.keys.rewards_redeemed(invoice_number))
        return raw.decode() if raw is not None else ""

    async def redemption(self, event_id: str) -> dict[str, Any] | None:
        raw = await self._command("get", self.keys.redemption(event_id))
        return json.loads(raw) if raw is not None else None

    async def redeem_rewards(
        self,
        event_id: str,
        *,
        account_id: str,
        invoice_number: str,
        expected_redeemed: str,
        new_redeemed: str,
        lot_changes: list[tuple[str, str, str]],
        record: dict[str, Any],
    ) -> str:
        """Apply a redemption atomically: "applied", "done" (this event was applied before) or
        "conflict" (another redemption changed a lot or the invoice meanwhile: plan again)."""
        result = await self._script(
            "redeem_rewards",
            keys=[
                self.keys.reward_lots(account_id),
                self.keys.rewards_redeemed(invoice_number),
                self.keys.redemption(event_id),
            ],
            args=[expected_redeemed, new_redeemed, json.dumps(record, default=str), json.dumps(lot_changes)],
        )
        return result.decode() if isinstance(result, bytes) else str(result)

    async def record_skipped(self, *, event_id: str, event_type: str, reason: str, at: datetime) -> bool:
        """Keep a valid event that had no effect by rule, with why (once per event id)."""
        if not await self._command("sadd", self.keys.skipped_ids, event_id):
            return False
        entry = {"event_id": event_id, "type": event_type, "reason": reason, "at": at.isoformat()}
        await self._command("rpush", self.keys.skipped, json.dumps(entry))
        return True

    async def skipped(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self._command("lrange", self.keys.skipped, 0, -1)]

    # -- parked events -----------------------------------------------------------------------

    async def park_event(self, event_id: str, account_id: str | None, raw: dict[str, Any], due_at: float) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.parked(event_id), json.dumps(raw, default=str))
        if account_id:
            pipe.sadd(self.keys.parked_by_account(account_id), event_id)
        pipe.zadd(self.keys.due, {event_member(event_id): due_at}, lt=True)
        await pipe.execute()

    async def load_parked(self, event_id: str) -> dict[str, Any] | None:
        raw = await self._command("get", self.keys.parked(event_id))
        return json.loads(raw) if raw else None

    async def unpark_event(self, event_id: str, account_id: str | None) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.parked(event_id))
        if account_id:
            pipe.srem(self.keys.parked_by_account(account_id), event_id)
        await pipe.execute()

    async def wake_parked(self, account_id: str, at: float) -> list[str]:
        """Make the events parked for an account due at `at`; returns their due members."""
        ids = [m.decode() for m in await self._command("smembers", self.keys.parked_by_account(account_id))]
        for event_id in ids:
            await self.mark_due(event_member(event_id), at)
        return [event_member(event_id) for event_id in ids]
