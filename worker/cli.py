"""The `invoice-worker` command (shared/CONTRACT.md): ingest, run, demo, status, preview."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from settings import Settings, load_settings
from worker.errors import InvoiceWorkerError

log = logging.getLogger("invoice-worker")


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # dramatiq logs every worker thread's start and stop at INFO: noise for operators.
    logging.getLogger("dramatiq").setLevel(max(logging.WARNING, logging.getLogger().level))
    # aiosmtpd logs every SMTP command of the local server at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from worker.ingest import ingest_lines
    from worker.runner import make_pipeline

    with _environment(settings) as resolved:
        pipeline = make_pipeline(resolved)
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            report = ingest_lines(pipeline, stream)
    for rejection in report.rejections:
        print(f"line {rejection.line_no}: {rejection.error}", file=sys.stderr)
    print(f"accepted {report.accepted}, rejected {len(report.rejections)}")
    return 1 if report.rejections else 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from worker.runner import make_pipeline, run

    with _environment(settings) as resolved:
        run(make_pipeline(resolved), burst=args.burst, handle_signals=True)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from worker.demo import run_demo

    if "log_level" not in settings.model_fields_set:
        logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own summary
    return run_demo(settings, out_dir=Path(args.out) if args.out else None)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from worker.status import collect_status, format_status

    with _environment(settings, need_smtp=False) as resolved:
        rows = asyncio.run(collect_status(resolved, invoice=args.invoice))
    if args.json:
        print(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
    else:
        print(format_status(rows))
    if args.invoice and not rows:
        print(f"no invoice {args.invoice}", file=sys.stderr)
        return 1
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from worker.preview import preview

    for path in preview(args.kind, args.locale, Path(args.out), settings):
        print(path)
    return 0


def cmd_dead_letters(args: argparse.Namespace, settings: Settings) -> int:
    from worker.status import collect_dead_letters

    with _environment(settings, need_smtp=False) as resolved:
        entries = asyncio.run(collect_dead_letters(resolved))
    if args.json:
        print(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        for entry in entries:
            print(f"{entry['at']}  {entry['event_id']}  {entry['type']}  {entry['field']}: {entry['reason']}")
        print(f"{len(entries)} dead-lettered event(s)")
    return 0


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from worker.events import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


def _environment(settings: Settings, *, need_smtp: bool = True):
    from worker.environment import resolved_environment

    return resolved_environment(settings, need_smtp=need_smtp)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoice-worker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="validate JSON Lines events and hand them to the broker")
    p.add_argument("file", help="a JSON Lines file, or - for standard input")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("run", help="consume and deliver")
    p.add_argument("--burst", action="store_true", help="exit once every queue is empty and nothing is due")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="the whole pipeline on embedded defaults, fed by fixtures/")
    p.add_argument("--out", help="directory for the .eml files (default: out/demo/<time>)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("status", help="what was sent, to whom, and how each delivery went")
    p.add_argument("--invoice", help="only this invoice number")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("preview", help="render an email from fixtures without sending it")
    p.add_argument("--kind", required=True)
    p.add_argument("--locale", required=True)
    p.add_argument("--out", default="out/preview")
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("dead-letters", help="events rejected, with the reason")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dead_letters)
    p = sub.add_parser("schema", help="print the JSON Schema of the event contract")
    p.set_defaults(func=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    _setup_logging(settings)
    try:
        return args.func(args, settings)
    except InvoiceWorkerError as exc:
        print(f"invoice-worker: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
