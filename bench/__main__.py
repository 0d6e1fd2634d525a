"""`python -m bench`: the whole pipeline under load on this machine, against its raw limit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.pipeline import BenchFailed, BenchOptions, run_bench
from bench.report import format_report


def parse_smtp(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--smtp must be HOST:PORT, not {value!r}")
    return host, int(port)


def main_from_args(args: argparse.Namespace) -> int:
    options = BenchOptions(
        orders=args.orders,
        workers=args.workers,
        smtp=parse_smtp(args.smtp) if args.smtp else None,
        json_out=Path(args.json) if args.json else None,
        window_sizes=tuple(int(n) for n in args.windows.split(",") if n),
        scale=tuple(int(n) for n in args.scale.split(",") if n),
        sinks=tuple(args.sinks.split(",")) if args.sinks else None,
    )
    try:
        report = run_bench(options)
    except BenchFailed as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000, help="invoice emails to send (one per order)")
    parser.add_argument("--workers", type=int, default=2, help="`run` processes")
    parser.add_argument("--smtp", help="HOST:PORT of the SMTP server (default: a local sink in its own process)")
    parser.add_argument("--json", help="write the report as JSON to this file")
    parser.add_argument("--windows", default="1000,100000", help="open-window counts to measure Redis memory at")
    parser.add_argument(
        "--scale",
        default="1",
        help="worker counts also run against the first SMTP server (default 1: 1 then 2 workers)",
    )
    parser.add_argument(
        "--sinks",
        help="SMTP servers to run against: `smtp-sink`, `aiosmtpd sink`, comma-separated "
        "(default: both when smtp-sink is installed, else the aiosmtpd sink)",
    )
    return main_from_args(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
