"""The store's invoice ledgers: `Ledgers`, the `ledgers` part of `worker.store.store.Store`.

An invoice's ledger is its stored invoice (total, due date) plus what covered it (one hash field
per entry, keyed by its reference: written with HSETNX, so a payment redelivered is recorded
once), its dispute and credit flags, the reminder steps done, and a history of its life for
`status`. The rules (balance, state) are `worker.domain.ledger`'s.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from worker.domain.ledger import Entry, Ledger
from worker.domain.model import Invoice
from worker.store.connection import Connection


def _entry_json(entry: Entry) -> str:
    return json.dumps(
        {
            "kind": entry.kind,
            "ref": entry.ref,
            "amount": str(entry.amount),
            "at": entry.at.isoformat(),
            "method": entry.method,
        }
    )


def _entry(raw: bytes) -> Entry:
    value = json.loads(raw)
    return Entry(
        value["kind"], value["ref"], Decimal(value["amount"]), datetime.fromisoformat(value["at"]), value.get("method")
    )


class Ledgers:
    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def load(self, invoice: Invoice) -> Ledger:
        """The ledger of an issued invoice."""
        # Sent in one round trip: the connection batches what is sent in the same turn.
        raw_entries, flags = await asyncio.gather(
            self.db.command("hvals", self.keys.ledger_entries(invoice.number)),
            self.db.command("hgetall", self.keys.ledger_flags(invoice.number)),
        )
        entries = sorted((_entry(raw) for raw in raw_entries), key=lambda e: (e.at, e.ref))
        return Ledger(
            invoice_number=invoice.number,
            currency=invoice.currency,
            total=invoice.total,
            due_on=invoice.due_on,
            entries=tuple(entries),
            dispute=(flags.get(b"dispute") or b"").decode() or None,
            credited_by=(flags.get(b"credited_by") or b"").decode() or None,
        )

    async def record(self, number: str, entry: Entry) -> bool:
        """Record an entry once; returns whether it is new (False: recorded before, by its ref)."""
        added = await self.db.command("hsetnx", self.keys.ledger_entries(number), entry.ref, _entry_json(entry))
        if added:
            await self.note(number, entry.at, entry.kind, amount=str(entry.amount), ref=entry.ref, method=entry.method)
        return bool(added)

    async def set_dispute(self, number: str, state: str, at: datetime, reason: str | None) -> None:
        """Open (`open`) or end (`rejected`) the invoice's dispute, noted in its history."""
        key = self.keys.ledger_flags(number)
        if state == "open":
            await self.db.command("hset", key, "dispute", "open")
        else:
            await self.db.command("hdel", key, "dispute")
        await self.note(number, at, f"dispute {state}", reason=reason)

    async def set_credited(self, number: str, credit_note: str, at: datetime, reason: str) -> None:
        """Mark the invoice cancelled by `credit_note` (once: a redelivered credit notes nothing twice)."""
        if await self.db.command("hsetnx", self.keys.ledger_flags(number), "credited_by", credit_note):
            await self.note(number, at, "credited", credit_note=credit_note, reason=reason)

    async def keep_account_credit(self, account_id: str, credited: str, amount: Decimal) -> None:
        """What was paid on a credited invoice that nothing replaced: the account's credit balance."""
        await self.db.command("hset", self.keys.account_credit(account_id), credited, str(amount))

    async def account_credit(self, account_id: str) -> Decimal:
        values = await self.db.command("hvals", self.keys.account_credit(account_id))
        return sum((Decimal(v.decode()) for v in values), Decimal(0))

    async def note(self, number: str, at: datetime, what: str, **details: Any) -> None:
        entry = {"at": at.isoformat(), "what": what, **{k: v for k, v in details.items() if v is not None}}
        await self.db.command("rpush", self.keys.ledger_events(number), json.dumps(entry))

    async def history(self, number: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.db.command("lrange", self.keys.ledger_events(number), 0, -1)]

    async def reminders_done(self, number: str) -> set[int]:
        return {int(raw) for raw in await self.db.command("smembers", self.keys.reminders_done(number))}

    async def mark_reminders_done(self, number: str, offsets: list[int]) -> None:
        if offsets:
            await self.db.command("sadd", self.keys.reminders_done(number), *offsets)
