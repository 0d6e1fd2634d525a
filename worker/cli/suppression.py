"""`invoice-worker suppression list|add|remove`: the operator's view of the suppression list.

A suppressed address is not sent to (its recipients are recorded `suppressed`) until its entry
expires (SUPPRESSION_TTL_S after it was added) or is removed. Bounces add entries themselves.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from worker.emails.mime import refuse_line_breaks
from worker.settings import Settings
from worker.store.store import Store


def _store(settings: Settings) -> AbstractAsyncContextManager[Store]:
    return Store.open(settings.redis_url or "", prefix=settings.redis_prefix)


async def list_suppressions(settings: Settings, now: datetime) -> list[dict[str, Any]]:
    async with _store(settings) as store:
        entries = await store.deliveries.suppressions(now.timestamp())
    return [
        {
            **e,
            "at": datetime.fromtimestamp(e["at"], UTC).isoformat(),
            "until": datetime.fromtimestamp(e["until"], UTC).isoformat(),
        }
        for e in entries
    ]


async def add_suppression(
    settings: Settings, address: str, *, reason: str, now: datetime, ttl_s: float | None = None
) -> None:
    """Raises HeaderInjection: the address holds a line break."""
    refuse_line_breaks("address", address)
    ts = now.timestamp()
    async with _store(settings) as store:
        await store.deliveries.suppress(
            address, reason=reason, source="operator", at=ts, until=ts + (ttl_s or settings.suppression_ttl_s)
        )


async def remove_suppression(settings: Settings, address: str) -> bool:
    async with _store(settings) as store:
        return await store.deliveries.unsuppress(address)


def format_suppressions(entries: list[dict[str, Any]]) -> str:
    if not entries:
        return "no suppressed addresses"
    return "\n".join(f"{e['address']:<36} until {e['until']}  ({e['source']}) {e['reason']}" for e in entries)
