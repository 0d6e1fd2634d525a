"""Dead letters an operator can act on: replay stored events once their producers fixed the data
they needed (an account, an invoice, a corrected field), or purge them.

A replayed event goes in again as `ingest` takes any event, under its own id: a worker applies it
once (an event already applied is not applied twice). What cannot be replayed is said, and kept:
an event whose secret was redacted before it was stored (a redemption code is never kept), or
one too large to have been kept whole.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from worker.services.apply_events import content_key
from worker.services.ingest import ingest_lines
from worker.store.store import Store


@dataclass
class Selection:
    """The dead letters an operator named: by event id, every one (`all`), or of one type."""

    ids: frozenset[str] = frozenset()
    all: bool = False
    type: str | None = None

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.type is not None and entry.get("type") != self.type:
            return False
        return self.all or entry.get("event_id") in self.ids


@dataclass
class Outcome:
    done: list[dict[str, Any]] = field(default_factory=list)
    #: (entry, why it stays).
    kept: list[tuple[dict[str, Any], str]] = field(default_factory=list)


def why_not_replayable(entry: dict[str, Any]) -> str | None:
    event = entry.get("event")
    if not isinstance(event, dict) or "truncated" in event:
        return "the event was not kept whole (too large, or no JSON object): send it again from its producer"
    if "[redacted]" in json.dumps(event):
        return "its secret was redacted before it was kept: send it again from its producer"
    return None


async def _selected(store: Store, selection: Selection) -> list[tuple[bytes, dict[str, Any]]]:
    return [(raw, entry) for raw, entry in await store.events.stored_dead_letters() if selection.matches(entry)]


async def purge(store: Store, selection: Selection) -> Outcome:
    chosen = await _selected(store, selection)
    await store.events.remove_dead_letters([raw for raw, _ in chosen], [_key(entry) for _, entry in chosen])
    return Outcome(done=[entry for _, entry in chosen])


async def take_replayable(store: Store, selection: Selection) -> Outcome:
    """Take the chosen dead letters that can be replayed off the list (`done`: ingest their
    events next, see `replay`); say why the others stay (`kept`)."""
    outcome = Outcome()
    replayable: list[tuple[bytes, dict[str, Any]]] = []
    for raw, entry in await _selected(store, selection):
        reason = why_not_replayable(entry)
        if reason is None:
            replayable.append((raw, entry))
        else:
            outcome.kept.append((entry, reason))
    # Off the list before they go in again: one rejected again is kept again.
    await store.events.remove_dead_letters([raw for raw, _ in replayable], [_key(e) for _, e in replayable])
    outcome.done = [entry for _, entry in replayable]
    return outcome


def replay(pipeline: Any, selection: Selection) -> Outcome:
    """Ingest the chosen dead letters again, under their own ids (through `pipeline`, as
    `ingest` does); a worker applies each once."""
    settings = pipeline.settings

    async def take() -> Outcome:
        async with Store.open(settings.redis_url or "", prefix=settings.redis_prefix) as store:
            return await take_replayable(store, selection)

    outcome = asyncio.run(take())
    if outcome.done:
        ingest_lines(pipeline, [json.dumps(entry["event"]) for entry in outcome.done])
    return outcome


def _key(entry: dict[str, Any]) -> str:
    return content_key(entry.get("event"))
