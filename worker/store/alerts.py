"""Alerts about the worker's own setup (a wrong SMTP password, a refused HELO name, TLS that
fails), counted per stable alert name in one Redis hash: `Alerts`, the `alerts` part of
`worker.store.store.Store`. `invoice-worker status` shows them; a metrics exporter can read the
same counts."""

from __future__ import annotations

from dataclasses import dataclass

from worker.store.connection import Connection


@dataclass(frozen=True)
class AlertCount:
    name: str
    count: int
    #: When it was last raised (Unix seconds).
    last_at: float


class Alerts:
    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def raise_alert(self, name: str, *, at: float) -> None:
        """Count one more `name`, raised at `at`."""
        await self.db.command("hincrby", self.keys.alerts, name, 1)
        await self.db.command("hset", self.keys.alerts, f"{name}:last", repr(at))

    async def counts(self) -> list[AlertCount]:
        """Every alert raised so far, by name."""
        raw = {k.decode(): v.decode() for k, v in (await self.db.command("hgetall", self.keys.alerts)).items()}
        return [
            AlertCount(name, int(value), float(raw.get(f"{name}:last", "0")))
            for name, value in sorted(raw.items())
            if not name.endswith(":last")
        ]
