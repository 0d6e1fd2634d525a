"""The store's rewards lots and redemptions: `Rewards`, the `rewards` part of
`worker.store.store.Store`."""

from __future__ import annotations

import json
from typing import Any

from worker.store.connection import Connection


class Rewards:
    """Rewards lots, redeemed totals and applied redemptions."""

    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def add_reward_lot(self, account_id: str, lot_id: str, lot_json: str) -> bool:
        """Keep a lot once: the same month accrued twice has the effect of once."""
        return bool(await self.db.command("hsetnx", self.keys.reward_lots(account_id), lot_id, lot_json))

    async def reward_lots(self, account_id: str) -> dict[str, str]:
        """lot id -> the lot's JSON exactly as stored (the compare-and-set of `redeem_rewards` uses it)."""
        raw = await self.db.command("hgetall", self.keys.reward_lots(account_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def rewards_redeemed(self, invoice_number: str) -> str:
        raw = await self.db.command("get", self.keys.rewards_redeemed(invoice_number))
        return raw.decode() if raw is not None else ""

    async def redemption(self, event_id: str) -> dict[str, Any] | None:
        raw = await self.db.command("get", self.keys.redemption(event_id))
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
        result = await self.db.script(
            "redeem_rewards",
            keys=[
                self.keys.reward_lots(account_id),
                self.keys.rewards_redeemed(invoice_number),
                self.keys.redemption(event_id),
            ],
            args=[expected_redeemed, new_redeemed, json.dumps(record, default=str), json.dumps(lot_changes)],
        )
        return result.decode() if isinstance(result, bytes) else str(result)
