"""`invoice-worker ingest`: validate JSON Lines events and hand the good ones to the broker.

Every line is accepted or rejected with a reason; a bad line blocks nothing else and nothing a
line holds makes ingest crash (`worker.contract.jsonlines` decodes it within documented limits).
A rejected line is dead-lettered, once per content: the same bad line in a second file, or twice
in one, is one dead letter. An id reused with other `data` than it was first seen with is
rejected too (field `id`): the first event under an id stands.

Progress is counted in chunks. The accepted events go to the queue `INGEST_BATCH_SIZE` at a time,
one queue message per chunk, and a chunk covers its lines from the one after the previous chunk:
its events, the lines rejected among them, the blank ones. A chunk is done when its rejections
are dead-lettered and its message is sent; only then are its lines counted. When Redis fails
(unreachable, connection lost, full under `noeviction`), ingest stops with `IngestInterrupted`:
every line before its `resume_line` is in, none from it on was counted, and ingesting again from
that line (`--from-line`) puts in exactly the rest. The chunk that was being sent may have gone
in unseen (a lost reply); sending it again is harmless, as events are idempotent by id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import redis
from dramatiq.errors import BrokerConnectionError

from worker.contract.events import parse_event
from worker.contract.jsonlines import LINE_FIELD, MAX_LINE_BYTES, UTF8_BOM, RawLine, decode_line, line_digest
from worker.contract.sealed import prepare_for_queue
from worker.errors import InvalidEvent, InvoiceWorkerError, TransientError
from worker.services.apply_events import data_digest, dead_letter, reused_id
from worker.store.sealer import Sealer

log = logging.getLogger(__name__)

#: What makes ingest stop and say where to resume: Redis unreachable, lost, full or refusing;
#: or a setting an event needs (a SEALING_KEY for a secret).
STOPS_INGEST: tuple[type[Exception], ...] = (redis.RedisError, BrokerConnectionError, InvoiceWorkerError)


@dataclass(frozen=True)
class Rejection:
    line_no: int
    error: InvalidEvent
    #: The event as decoded, dead-lettered redacted; for a line that held no JSON object,
    #: only its number, length and digest (None once dead-lettered: see `IngestReport`).
    raw: object
    #: What the dead letter is known by (None: the event's content, see `content_key`).
    key: str | None = None


@dataclass
class IngestReport:
    #: Events handed to the queue (a replay of an event already in counts too: it has no effect).
    accepted: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    #: The first line not yet counted: after a full run, the line after the last.
    next_line: int = 1


class IngestInterrupted(TransientError):
    """Redis failed during ingest: `report` counts the lines before `resume_line`, all in."""

    def __init__(self, report: IngestReport, cause: Exception) -> None:
        self.report = report
        self.resume_line = report.next_line
        self.cause = cause
        super().__init__(
            f"ingest stopped at line {self.resume_line}: {cause}; {report.accepted} event(s) went in, "
            f"every line before line {self.resume_line} is in"
        )


@dataclass
class _Chunk:
    """The lines since the last chunk was sent: the events to queue and the rejected lines."""

    first_line: int
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def ingest_lines(pipeline, lines: Iterable[RawLine | bytes | str], *, from_line: int = 1) -> IngestReport:
    """Enqueue every valid event; dead-letter the others. `lines` are raw lines (`read_lines`)
    or the lines' text; lines before `from_line` are skipped (a resumed ingest).

    Raises:
      IngestInterrupted: Redis failed; its report says how far ingest got.
    """
    with Ingestor(pipeline) as ingestor:
        return ingestor.ingest(lines, from_line=from_line)


class Ingestor:
    """Ingests many times over one event loop and its Redis connection, for a producer that
    feeds events as they come (the benchmark does, one order at a time): a fresh loop and
    connection per ingest cost ~10 ms, more than the events. `ingest_lines` is one ingest."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self._runner = asyncio.Runner()

    def ingest(self, lines: Iterable[RawLine | bytes | str], *, from_line: int = 1) -> IngestReport:
        """As `ingest_lines`.

        Raises:
          IngestInterrupted: Redis failed; its report says how far ingest got.
        """
        return self._runner.run(_ingest(self.pipeline, _numbered(lines), from_line=from_line))

    def close(self) -> None:
        try:
            self._runner.run(self.pipeline.app.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _numbered(lines: Iterable[RawLine | bytes | str]) -> Iterator[RawLine]:
    for number, line in enumerate(lines, start=1):
        if isinstance(line, RawLine):
            yield line
            continue
        # A surrogate in a str (none comes from a strict UTF-8 file) becomes bytes that are refused.
        content = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
        content = content.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:  # as `read_lines` does: a BOM at the start of the file is no error
            content = content.removeprefix(UTF8_BOM)
        yield RawLine(number, content, len(content), line_digest(content))


async def _ingest(pipeline, lines: Iterator[RawLine], *, from_line: int) -> IngestReport:
    app = pipeline.app
    report = IngestReport(next_line=from_line)
    sealer = Sealer(app.redis_url or "", app.keys, app.policy.sealed_secret_ttl_s, sealing=app.sealing)
    batch_size = app.policy.ingest_batch_size
    chunk = _Chunk(from_line)
    end = from_line  # the line after the last one read
    try:
        for line in lines:
            end = max(end, line.number + 1)
            if line.number < from_line or line.blank:
                continue
            try:
                raw = _decode(line)
            except InvalidEvent as exc:
                # Nothing of an unreadable line is kept but where it was and what it is known by.
                where = {"line": line.number, "bytes": line.size, "sha256": line.digest}
                chunk.rejections.append(Rejection(line.number, exc, where, f"line:{line.digest}"))
            else:
                try:
                    parse_event(raw)  # validated here; applied from the queue
                except InvalidEvent as exc:
                    chunk.rejections.append(Rejection(line.number, exc, raw))
                else:
                    # The queue message never carries a secret or a card number (worker/contract/sealed.py).
                    chunk.events.append((line.number, prepare_for_queue(raw, sealer.seal)))
            # (Rejections are sent on in chunks too: a file of bad lines is not held in memory.)
            if len(chunk.events) >= batch_size or len(chunk.rejections) >= batch_size:
                await _send(pipeline, chunk, report, next_line=line.number + 1)
                chunk = _Chunk(line.number + 1)
        await _send(pipeline, chunk, report, next_line=end)
    except STOPS_INGEST as exc:
        raise IngestInterrupted(report, exc) from None
    finally:
        sealer.close()
    return report


def _decode(line: RawLine) -> dict[str, Any]:
    if line.content is None:
        raise InvalidEvent(
            None, LINE_FIELD, f"the line is {line.size} bytes long; at most {MAX_LINE_BYTES} are accepted"
        )
    return decode_line(line.content)


async def _send(pipeline, chunk: _Chunk, report: IngestReport, *, next_line: int) -> None:
    """Refuse the chunk's reused ids, dead-letter its rejections, send its events as one queue
    message; then (only then) count its lines in `report`."""
    app = pipeline.app
    events = chunk.events
    # Each id's data is remembered at first sight (as the worker does when it applies it), so
    # that a reused id is refused here, in the summary, when its first event came earlier in
    # this file or in another; two with the same id in one chunk go in one round trip, in order.
    digests = [data_digest(queued) for _, queued in events]
    seen_with_other_data = app.store.events.seen_with_other_data
    reused = await asyncio.gather(
        *(seen_with_other_data(str(queued["id"]), digest) for (_, queued), digest in zip(events, digests, strict=True))
    )
    rejections = list(chunk.rejections)
    kept = []
    for (number, queued), other_data in zip(events, reused, strict=True):
        if other_data:
            rejections.append(Rejection(number, reused_id(str(queued["id"])), queued))
        else:
            kept.append(queued)
    rejections.sort(key=lambda r: r.line_no)
    for rejection in rejections:
        await dead_letter(app, rejection.raw, rejection.error, key=rejection.key)
    if kept:
        # Their digests are remembered now: the worker does not look them up again.
        pipeline.actors.apply_events.send(kept, True)
    report.accepted += len(kept)
    # The report keeps each rejection's line and error, not the event (up to 1 MiB each).
    report.rejections += [replace(r, raw=None) for r in rejections]
    report.next_line = next_line
