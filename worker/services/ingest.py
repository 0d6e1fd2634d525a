"""`invoice-worker ingest`: validate JSON Lines events and hand the good ones to the broker.

A bad line is reported with its line number and reason and dead-lettered; it blocks nothing else.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from worker.contract.events import parse_event_json
from worker.contract.sealed import prepare_for_queue
from worker.errors import InvalidEvent
from worker.services.apply_events import dead_letter
from worker.store.sealer import Sealer


@dataclass(frozen=True)
class Rejection:
    line_no: int
    error: InvalidEvent
    raw: object


@dataclass
class IngestReport:
    accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def ingest_lines(pipeline, lines: Iterable[str]) -> IngestReport:
    """Enqueue every valid event; collect and dead-letter the others."""
    report = IngestReport()
    app = pipeline.app
    sealer = Sealer(app.redis_url or "", app.keys, app.policy.sealed_secret_ttl_s, sealing=app.sealing)
    batch_size = pipeline.app.policy.ingest_batch_size
    chunk: list[dict] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            parse_event_json(line)  # validated here; applied from the queue
        except InvalidEvent as exc:
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                raw = {"line": line_no}
            report.rejections.append(Rejection(line_no, exc, raw))
            continue
        # The queue message never carries a secret or a card number (worker/sealed.py).
        chunk.append(prepare_for_queue(json.loads(line), sealer.seal))
        report.accepted += 1
        if len(chunk) >= batch_size:
            pipeline.actors.apply_events.send(chunk)
            chunk = []
    if chunk:
        pipeline.actors.apply_events.send(chunk)
    sealer.close()
    if report.rejections:
        asyncio.run(_dead_letter_all(pipeline, report.rejections))
    return report


async def _dead_letter_all(pipeline, rejections: list[Rejection]) -> None:
    try:
        for rejection in rejections:
            await dead_letter(pipeline.app, rejection.raw, rejection.error)
    finally:
        await pipeline.app.aclose()
