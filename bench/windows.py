"""Redis memory per open invoice window, and the cost of finding due work among many windows.

A window is opened the way production opens one: `order.booked` and one `service.activated` go
through `ingestion.apply_event`, then `invoicing.close_windows` finds the window still open (only
one of the order's lines is active) and re-arms its deadline 15 days ahead. That path costs ~4 ms
per window here, so beyond the first `REAL_WINDOWS` the windows are clones of the first one: its
keys copied byte for byte with DUMP/RESTORE (same encoding, same TTL) and its members of shared
keys (due index, account's orders) added under the new ids; its subscription's orders and its
events' digests are written through the store's own scripts (so that their buckets grow as they
would). Everything lives under its own key prefix, so the measurement neither sees nor disturbs
the pipeline's keys.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from worker.services import apply_events as ingestion
from worker.services import invoicing
from worker.services.context import ServiceContext
from worker.settings import Settings
from worker.store.events import digest_field

#: Windows opened concurrently (bounded: each holds a few Redis round trips in flight).
CONCURRENCY = 64
#: Windows opened through the real path; the rest are byte-for-byte clones of the first.
REAL_WINDOWS = 1000
#: Clones written per Redis pipeline.
CLONE_BATCH = 1000
#: Every id of window i carries this, zero-padded, so a clone's names have the template's length.
_ID_DIGITS = 6
#: Due-member lookups timed at each size (the median is reported).
LOOKUPS = 200


@dataclass(frozen=True)
class WindowsReport:
    windows: int
    real_windows: int
    used_memory_delta_bytes: int
    bytes_per_window: float
    open_s: float
    due_lookup_median_us: float
    due_members: int


def _ident(i: int) -> str:
    return f"{i:0{_ID_DIGITS}d}"


def _window_events(tag: str, i: int, occurred: str, term: dict[str, str]) -> list[dict[str, Any]]:
    i = _ident(i)  # type: ignore[assignment]
    order_id = f"W-{tag}-{i}"
    lines = [
        {"line_id": f"L{n}", "product": "Compute", "kind": "paas", "annual_amount": "12000.00", "tax_rate": "0.21"}
        for n in (1, 2, 3)
    ]
    contact = {"name": "Els de Vries", "email": f"billing@w{i}.example", "locale": "nl-NL"}
    return [
        {
            "id": f"{tag}-wo-{i}",
            "type": "order.booked",
            "occurred_at": occurred,
            "data": {
                "order_id": order_id,
                "account_id": f"WA-{tag}",
                "subscription_id": f"WS-{tag}-{i}",
                "billing_contact": contact,
                "po_number": None,
                "payment_method": "invoice",
                "currency": "EUR",
                "billing_frequency": "annual_in_advance",
                "term": term,
                "lines": lines,
            },
        },
        {
            "id": f"{tag}-wa-{i}",
            "type": "service.activated",
            "occurred_at": occurred,
            "data": {"order_id": order_id, "line_id": "L1", "activated_at": occurred},
        },
    ]


async def _open_window(app: ServiceContext, events: list[dict[str, Any]], lease_s: float) -> None:
    for raw in events:
        for member in await ingestion.apply_event(app, raw):
            lease = await app.store.due.claim_member(member, app.clock().timestamp(), lease_s)
            if lease is not None:
                await invoicing.close_windows(app, member.partition(":")[2], lease)


async def _used_memory(app: ServiceContext) -> int:
    return int((await app.store.redis.info("memory"))["used_memory"])


async def _time_due_lookup(app: ServiceContext) -> tuple[float, int]:
    """Median time of the scheduler's question "what is due now?" (read-only, no claim), asked
    once the windows have fallen due (the day after their deadline): it finds 500 of them."""
    redis, key = app.store.redis, app.keys.due
    at = app.clock().timestamp() + (app.policy.window_days + 1) * 86400
    samples, found = [], 0
    for _ in range(LOOKUPS):
        started = time.perf_counter()
        found = len(await redis.zrangebyscore(key, "-inf", at, start=0, num=500))
        samples.append(time.perf_counter() - started)
    samples.sort()
    return samples[len(samples) // 2] * 1e6, found


async def measure_windows(settings: Settings, count: int, *, prefix: str) -> WindowsReport:
    """Open `count` windows under the fresh key prefix `prefix` and report what they cost."""
    tag = uuid.uuid4().hex[:8]  # the ids' own, as a producer's are unique
    update: dict[str, Any] = {"redis_prefix": prefix}
    if "event_gather_s" in Settings.model_fields:
        update["event_gather_s"] = 0.0  # close the window at once: measure it in its open state
    app = ServiceContext.from_settings(settings.model_copy(update=update))
    now = app.clock()
    occurred = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    term = {"start": now.date().isoformat(), "end": (now.date() + timedelta(days=364)).isoformat()}
    try:
        # The account exists first (its contacts would be copied); it is not a per-window cost.
        await ingestion.apply_event(
            app,
            {
                "id": f"{prefix}-acc",
                "type": "account.updated",
                "occurred_at": occurred,
                "data": {
                    "account_id": f"WA-{tag}",
                    "name": "Windows B.V.",
                    "country": "NL",
                    "sector": "commercial",
                    "ula": False,
                    "pay_as_you_go": False,
                    "contacts": {},
                },
            },
        )
        before = await _used_memory(app)
        started = time.perf_counter()
        pending: set[asyncio.Task] = set()
        real = min(count, REAL_WINDOWS)
        for i in range(real):
            if len(pending) >= CONCURRENCY:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.add(
                asyncio.ensure_future(_open_window(app, _window_events(tag, i, occurred, term), settings.due_lease_s))
            )
        if pending:
            await asyncio.gather(*pending)
        template_ids = [str(e["id"]) for e in _window_events(tag, 0, occurred, term)]
        await _clone_window(app, prefix, _ident(0), template_ids, [_ident(i) for i in range(real, count)])
        open_s = time.perf_counter() - started
        after = await _used_memory(app)
        lookup_us, due = await _time_due_lookup(app)
        return WindowsReport(count, real, after - before, (after - before) / count, open_s, lookup_us, due)
    finally:
        await _delete_prefix(app, prefix)
        await app.aclose()


async def _clone_window(
    app: ServiceContext, prefix: str, template: str, template_event_ids: list[str], idents: list[str]
) -> None:
    """Copy every key of the window `template` (and its members of shared keys, and the digests
    of its events `template_event_ids`) to each ident."""
    # Raw replies of every Redis type (bytes keys, members, scores): typed as the client returns them.
    redis: Any = app.store.redis
    own: list[tuple[str, int, bytes]] = []
    shared: list[tuple[str, str, list]] = []
    fields_of = {digest_field(event_id): event_id for event_id in template_event_ids}
    digests: list[tuple[str, bytes]] = []
    subscriptions: list[tuple[str, str]] = []
    async for raw_key in redis.scan_iter(match=f"{prefix}:*", count=5000):
        key = raw_key.decode()
        if template in key:
            own.append((key, max(0, await redis.pttl(key)), await redis.dump(key)))
            continue
        kind = (await redis.type(key)).decode()
        if kind == "zset":
            items = [(m, s) for m, s in await redis.zrange(key, 0, -1, withscores=True) if template.encode() in m]
        elif kind == "set":
            items = [(m, None) for m in await redis.smembers(key) if template.encode() in m]
        elif kind == "hash" and ":event-digests:" in key:
            # Fields are digests of the ids (events.digest_field): cloned by the template's ids.
            for field, value in (await redis.hgetall(key)).items():
                if (event_id := fields_of.get(field)) is not None:
                    digests.append((event_id, value))
            continue
        elif kind == "hash" and ":subscription-orders:" in key:
            # subscription id -> its order ids: the clones' go through the store's own script.
            subscriptions += [
                (f.decode(), v.decode()) for f, v in (await redis.hgetall(key)).items() if template.encode() in f
            ]
            continue
        elif ":event-digests:" in key or ":subscription-orders:" in key:
            continue  # a level: the clones move it as the real path does
        elif kind == "hash":
            items = [(f, v) for f, v in (await redis.hgetall(key)).items() if template.encode() in f]
        else:
            items = []
        if items:
            shared.append((key, kind, items))
    for start in range(0, len(idents), CLONE_BATCH):
        pipe = redis.pipeline(transaction=False)
        for ident in idents[start : start + CLONE_BATCH]:
            for key, ttl_ms, dumped in own:
                pipe.restore(key.replace(template, ident), ttl_ms, dumped)
            for key, kind, items in shared:
                renamed = [(m.replace(template.encode(), ident.encode()), v) for m, v in items]
                if kind == "zset":
                    pipe.zadd(key, dict(renamed))
                elif kind == "set":
                    pipe.sadd(key, *(m for m, _ in renamed))
                else:
                    pipe.hset(key, mapping=dict(renamed))
        for ident in idents[start : start + CLONE_BATCH]:
            for subscription_id, order_ids in subscriptions:
                for order_id in order_ids.split("\n"):
                    await app.store.orders.subscription_order_in(
                        pipe, "add", subscription_id.replace(template, ident), order_id.replace(template, ident)
                    )
        await pipe.execute()
        # Each id's digest through the store's own script (one round trip for the batch), so
        # that the buckets grow with the clones as they would with real events.
        remember = app.store.events.seen_with_other_data
        await asyncio.gather(
            *(
                remember(event_id.replace(template, ident), value.hex())
                for ident in idents[start : start + CLONE_BATCH]
                for event_id, value in digests
            )
        )


async def _delete_prefix(app: ServiceContext, prefix: str) -> None:
    redis = app.store.redis
    batch = []
    async for key in redis.scan_iter(match=f"{prefix}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.unlink(*batch)
            batch = []
    if batch:
        await redis.unlink(*batch)
