"""The `invoice-worker` command (shared/CONTRACT.md): ingest, run, demo, status, preview, document, resend.

Exit statuses: 0 done; 1 done, with something to report (a rejected line, an unknown invoice);
2 a bad setting or argument; 3 Redis unreachable, lost, full or refusing writes (README, "Commands").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.cli.log_format import LOG_FORMAT, JsonFormatter, OneLineFormatter
from worker.cli.redis_faults import REDIS_FAULT_EXIT, REDIS_FAULTS, RedisUnavailable, describe
from worker.errors import InvoiceWorkerError
from worker.services.printable import printable
from worker.settings import Settings, load_settings

log = logging.getLogger("invoice-worker")


def _setup_logging(settings: Settings) -> None:
    # One record, one line: no value in a record (an event id, a reply) can forge another.
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else OneLineFormatter(LOG_FORMAT))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler])
    # dramatiq logs every worker thread's start and stop at INFO: noise for operators.
    logging.getLogger("dramatiq").setLevel(max(logging.WARNING, logging.getLogger().level))
    # pikepdf announces its C++ logger bridge at INFO, once per process.
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    # aiosmtpd logs every SMTP command of the local server at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def _err(text: str) -> None:
    """One line on stderr, whatever `text` holds (an event id may hold a line break)."""
    print(printable(text), file=sys.stderr)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from worker.contract.jsonlines import read_lines
    from worker.runtime.runner import make_pipeline
    from worker.services.ingest import IngestInterrupted, IngestReport, ingest_lines

    def summary(report: IngestReport) -> None:
        for rejection in report.rejections:
            _err(f"line {rejection.line_no}: {rejection.error}")
        print(f"accepted {report.accepted}, rejected {len(report.rejections)}", flush=True)

    try:  # bytes, line by line: every line is decoded (or refused) on its own
        stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        _err(f"invoice-worker: cannot read {args.file}: {exc.strerror}")
        return 2
    with _environment(settings, writes=True) as resolved, stream:
        pipeline = make_pipeline(resolved)
        try:
            report = ingest_lines(pipeline, read_lines(stream), from_line=args.from_line)
        except IngestInterrupted as stopped:
            summary(stopped.report)
            cause = stopped.cause
            redis_fault = isinstance(cause, REDIS_FAULTS)
            reason = describe(cause, resolved.redis_url) if redis_fault else str(cause)
            _err(
                f"invoice-worker: ingest stopped: {reason}; {stopped.report.accepted} event(s) went in, "
                f"every line before line {stopped.resume_line} is in; to go on: "
                f"invoice-worker ingest --from-line {stopped.resume_line} {args.file}"
            )
            return REDIS_FAULT_EXIT if redis_fault else 2
    summary(report)
    return 1 if report.rejections else 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from worker.runtime.malloc_arenas import cap_malloc_arenas
    from worker.runtime.runner import make_pipeline, run
    from worker.store.cipher import required

    cap_malloc_arenas()  # before any thread starts: each would get an arena of its own

    with _environment(settings) as resolved:
        pipeline = make_pipeline(resolved)
        required(pipeline.app.sealing, "run")  # every built message is stored sealed
        run(pipeline, burst=args.burst, handle_signals=True)
    return 0


def cmd_sealing_key(args: argparse.Namespace, settings: Settings) -> int:
    from worker.store.cipher import new_sealing_key, write_new_key_file

    if args.out is None:
        print(new_sealing_key())
        return 0
    if not write_new_key_file(Path(args.out)):
        print(f"invoice-worker: {args.out} exists; not overwritten", file=sys.stderr)
        return 1
    print(f"wrote a new sealing key to {args.out} (mode 0600): set SEALING_KEY_FILE={args.out}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from worker.dev.demo import run_demo

    if "log_level" not in settings.model_fields_set:
        logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own summary
    return run_demo(settings, out_dir=Path(args.out) if args.out else None)


def _moment(text: str) -> datetime:
    """An ISO 8601 timestamp (UTC when it names no offset), for `--since`."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 timestamp: {text!r} (such as 2026-12-01T09:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from worker.services.alerts import collect_alerts, format_alerts
    from worker.services.status import collect_status, filter_rows, format_status

    with _environment(settings, need_smtp=False) as resolved:
        redis_url, prefix = resolved.redis_url or "", resolved.redis_prefix
        rows = asyncio.run(collect_status(redis_url, prefix, invoice=args.invoice, since=args.since, of_kind=args.kind))
        alerts = [] if args.json else asyncio.run(collect_alerts(resolved.redis_url or "", resolved.redis_prefix))
    rows = filter_rows(rows, state=args.state, since=args.since, kind=args.kind)
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
    else:
        print(format_status(rows, history=bool(args.invoice)))
        if alerts:  # the worker's own setup (SMTP password, HELO name, TLS): see the log
            print(format_alerts(alerts))
    if args.invoice and not rows:
        _err(f"no invoice {args.invoice}")
        return 1
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from worker.emails.preview import preview, write_gallery
    from worker.services.documents import preview_documents

    if args.all:
        index, entries = write_gallery(Path(args.out), settings, documents=preview_documents)
        for entry in entries:
            if entry.error:
                print(f"{entry.kind} {entry.locale}: {entry.error}", file=sys.stderr)
        print(index)
        return 1 if any(entry.error for entry in entries) else 0
    if not (args.kind and args.locale):
        print("preview: give --kind and --locale, or --all", file=sys.stderr)
        return 2
    for path in preview(args.kind, args.locale, Path(args.out), settings, documents=preview_documents):
        print(path)
    return 0


def _print_entries(entries: list[dict], *, as_json: bool, line: str, noun: str) -> int:
    """Event lists (dead letters, skipped events) as JSON, or one formatted line per entry."""
    if as_json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        for entry in entries:
            print(printable(line.format(**entry)))  # ids and reasons come from the events
        print(f"{len(entries)} {noun}")
    return 0


def cmd_document(args: argparse.Namespace, settings: Settings) -> int:
    from worker.services.resend import NoSuchInvoice, documents_as_sent
    from worker.store.cipher import SealingKeys
    from worker.store.store import Store

    async def written(resolved: Settings) -> list[Path]:
        sealing = SealingKeys.from_settings(resolved)
        async with Store.open(resolved.redis_url or "", prefix=resolved.redis_prefix, sealing=sealing) as store:
            documents = await documents_as_sent(store, args.invoice)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        # The XML is written for Factur-X too: the very bytes embedded in the PDF.
        for attachment in (documents.pdf, documents.xml):
            if attachment is not None:
                path = out / attachment.filename
                path.write_bytes(attachment.data)
                paths.append(path)
        return paths

    with _environment(settings, need_smtp=False) as resolved:
        try:
            paths = asyncio.run(written(resolved))
        except NoSuchInvoice as exc:
            _err(f"invoice-worker: {exc}")
            return 1
    for path in paths:
        print(printable(f"wrote {path} ({path.stat().st_size} bytes)"))
    return 0


def cmd_resend(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from worker.services.resend import NoSuchInvoice, Resent, resend_invoice
    from worker.store.store import Store

    async def resent(resolved: Settings) -> Resent:
        async with Store.open(resolved.redis_url or "", prefix=resolved.redis_prefix) as store:
            return await resend_invoice(store, args.invoice, to=args.to, now=datetime.now(UTC))

    with _environment(settings, need_smtp=False, writes=True) as resolved:
        try:
            done = asyncio.run(resent(resolved))
        except NoSuchInvoice as exc:
            _err(f"invoice-worker: {exc}")
            return 1
    if done.rerun:
        print(printable(f"re-running {done.delivery_id} (its email was never built): {', '.join(done.recipients)}"))
    else:
        print(printable(f"queued {done.delivery_id}, a marked copy, to {', '.join(done.recipients)}"))
    print("a running worker (invoice-worker run) sends it; status --invoice shows it")
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from worker.services.status import collect_dead_letters

    if args.action in ("replay", "purge"):
        return _act_on_dead_letters(args, settings)
    with _environment(settings, need_smtp=False) as resolved:
        entries = asyncio.run(collect_dead_letters(resolved.redis_url or "", resolved.redis_prefix))
    return _print_entries(
        entries, as_json=args.json, line="{at}  {event_id}  {type}  {field}: {reason}", noun="dead-lettered event(s)"
    )


def _act_on_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    """`dead-letters replay|purge ID...|--all [--type T]`."""
    from worker.runtime.runner import make_pipeline
    from worker.services.dead_letters import Selection, purge, replay
    from worker.store.store import Store

    if not args.ids and not args.all:
        _err(f"invoice-worker dead-letters {args.action}: name the event ids, or --all (with --type to narrow it)")
        return 2
    selection = Selection(ids=frozenset(args.ids), all=args.all, type=args.type)
    with _environment(settings, writes=True) as resolved:
        if args.action == "replay":
            outcome = replay(make_pipeline(resolved), selection)
        else:

            async def purge_chosen() -> Any:
                async with Store.open(resolved.redis_url or "", prefix=resolved.redis_prefix) as store:
                    return await purge(store, selection)

            outcome = asyncio.run(purge_chosen())
    verb = "replayed" if args.action == "replay" else "purged"
    for entry in outcome.done:
        print(printable(f"{verb} {entry['event_id']} ({entry['type']})"))
    for entry, why in outcome.kept:
        print(printable(f"kept {entry['event_id']} ({entry['type']}): {why}"))
    print(f"{len(outcome.done)} dead letter(s) {verb}, {len(outcome.kept)} kept")
    return 1 if outcome.kept else 0


def cmd_bounces(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from worker.inbound.listener import BounceListener
    from worker.services.bounce_settings import check_bounce_settings
    from worker.services.context import ServiceContext

    if settings.bounces_port is None:
        settings = settings.model_copy(update={"bounces_port": 2525})
    check_bounce_settings(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with (
        _environment(settings, need_smtp=False, writes=True) as resolved,
        BounceListener(
            ServiceContext.from_settings(resolved), host=resolved.bounces_host, port=resolved.bounces_port or 2525
        ),
    ):
        print(f"bounce listener on {resolved.bounces_host}:{resolved.bounces_port}", flush=True)
        stop.wait()
    return 0


def cmd_suppression(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from worker.cli import suppression

    now = datetime.now(UTC)
    if args.action != "list" and not args.address:
        _err(f"invoice-worker: suppression {args.action} needs an ADDRESS")
        return 2
    with _environment(settings, need_smtp=False, writes=args.action != "list") as resolved:
        if args.action == "list":
            entries = asyncio.run(suppression.list_suppressions(resolved, now))
            print(json.dumps(entries, indent=2) if args.json else suppression.format_suppressions(entries))
            return 0
        if args.action == "add":
            asyncio.run(suppression.add_suppression(resolved, args.address, reason=args.reason, now=now))
            print(printable(f"suppressed {args.address}"))
            return 0
        removed = asyncio.run(suppression.remove_suppression(resolved, args.address))
        print(printable(f"removed {args.address}" if removed else f"{args.address} was not suppressed"))
        return 0 if removed else 1


def cmd_skipped(args: argparse.Namespace, settings: Settings) -> int:
    from worker.services.status import collect_skipped

    with _environment(settings, need_smtp=False) as resolved:
        entries = asyncio.run(collect_skipped(resolved.redis_url or "", resolved.redis_prefix))
    return _print_entries(
        entries, as_json=args.json, line="{at}  {event_id}  {type}: {reason}", noun="skipped event(s)"
    )


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from worker.contract.schema import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


@contextmanager
def _environment(settings: Settings, *, need_smtp: bool = True, writes: bool = False) -> Iterator[Settings]:
    """The settings with the embedded defaults resolved. `writes`: the command writes to Redis,
    which must then not be one that evicts keys (as `run` requires).

    Raises:
      RedisUnavailable: Redis failed (unreachable, lost, full), naming it with its password masked.
      UnsafeRedis: `writes` and the server's maxmemory-policy may evict keys.
    """
    from worker.dev.environment import resolved_environment

    url = settings.redis_url
    try:
        with resolved_environment(settings, need_smtp=need_smtp) as resolved:
            url = resolved.redis_url
            if writes:
                asyncio.run(_refuse_evicting_redis(resolved))
            yield resolved
    except REDIS_FAULTS as exc:
        raise RedisUnavailable(exc, url) from None


async def _refuse_evicting_redis(settings: Settings) -> None:
    """Once, at once: a command is not `run`, which waits for Redis to come back."""
    from worker.store.store import Store

    async with Store.open(settings.redis_url or "", prefix=settings.redis_prefix) as store:
        await store.check_server()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoice-worker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="validate JSON Lines events and hand them to the broker")
    p.add_argument("file", help="a JSON Lines file, or - for standard input")
    p.add_argument(
        "--from-line",
        type=_line_number,
        default=1,
        metavar="N",
        help="skip the lines before line N (to go on after an ingest that stopped; lines keep their numbers)",
    )
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("run", help="consume and deliver")
    p.add_argument("--burst", action="store_true", help="exit once every queue is empty and nothing is due")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="the whole pipeline on embedded defaults, fed by fixtures/")
    p.add_argument("--out", help="directory for the .eml files (default: out/demo/<time>)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("status", help="what was sent, to whom, and how each delivery went")
    p.add_argument("--invoice", help="only this invoice number")
    p.add_argument("--state", help="only deliveries with a recipient in this state (deferred, rejected, ...)")
    p.add_argument("--since", type=_moment, metavar="TIMESTAMP", help="only deliveries created since (ISO 8601)")
    p.add_argument("--kind", help="only deliveries of this email kind (invoice, overdue_reminder, ...)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("preview", help="render an email from fixtures without sending it")
    p.add_argument("--kind")
    p.add_argument("--locale")
    p.add_argument("--all", action="store_true", help="every kind in every locale, with DIR/index.html side by side")
    p.add_argument("--out", default="out/preview")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("document", help="write an invoice's PDF (and its e-invoice XML) as sent")
    p.add_argument("--invoice", required=True, metavar="NUMBER")
    p.add_argument("--out", required=True, metavar="DIR")
    p.set_defaults(func=cmd_document)

    p = sub.add_parser("resend", help="send a marked copy of an invoice's email, with the same documents")
    p.add_argument("--invoice", required=True, metavar="NUMBER")
    p.add_argument("--to", metavar="ADDRESS", help="to this address alone (default: the original's To and Cc)")
    p.set_defaults(func=cmd_resend)

    p = sub.add_parser(
        "dead-letters",
        help="events rejected, with the reason; `replay` them once their data is fixed, or `purge` them",
    )
    p.add_argument("action", nargs="?", choices=("list", "replay", "purge"), default="list")
    p.add_argument("ids", nargs="*", metavar="EVENT_ID")
    p.add_argument("--all", action="store_true", help="every dead letter (of --type, when given)")
    p.add_argument("--type", metavar="EVENT_TYPE", help="only dead letters of this event type")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dead_letters)
    p = sub.add_parser("bounces", help="receive bounce reports on BOUNCES_HOST:BOUNCES_PORT (default 2525)")
    p.set_defaults(func=cmd_bounces)

    p = sub.add_parser("suppression", help="addresses not sent to: list, add or remove")
    p.add_argument("action", choices=("list", "add", "remove"))
    p.add_argument("address", nargs="?")
    p.add_argument("--reason", default="added by an operator")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_suppression)

    p = sub.add_parser(
        "skipped", help="valid events that had no effect by rule (e.g. not eligible for rewards), with why"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_skipped)
    p = sub.add_parser("schema", help="print the JSON Schema of the event contract")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("sealing-key", help="make a SEALING_KEY: print it, or write it to a new 0600 file")
    p.add_argument("--out", help="write it to this file (never overwritten) instead, for SEALING_KEY_FILE")
    p.set_defaults(func=cmd_sealing_key)
    return parser


def _line_number(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("line numbers start at 1")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    _setup_logging(settings)
    try:
        return args.func(args, settings)
    except RedisUnavailable as exc:
        _err(f"invoice-worker: {exc}")
        return REDIS_FAULT_EXIT
    except REDIS_FAULTS as exc:  # outside a resolved environment (the demo's own Redis)
        _err(f"invoice-worker: {describe(exc, settings.redis_url)}")
        return REDIS_FAULT_EXIT
    except InvoiceWorkerError as exc:
        _err(f"invoice-worker: {exc}")
        return 2
