"""`python -m bench`: the whole pipeline under load on this machine, against its raw limit."""

from __future__ import annotations

import argparse
import sys

from bench.pipeline import main_from_args


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--orders", type=int, default=2000, help="invoice emails to send (one per order)")
    parser.add_argument("--workers", type=int, default=2, help="`run` processes")
    parser.add_argument("--smtp", help="HOST:PORT of the SMTP server (default: a local sink in its own process)")
    parser.add_argument("--json", help="write the report as JSON to this file")
    parser.add_argument("--windows", default="1000,100000", help="open-window counts to measure Redis memory at")
    return main_from_args(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
