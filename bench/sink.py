"""A fast SMTP sink for the benchmark: accepts every message, keeps nothing but its Message-ID and
arrival time, one line per message in a log file. Run it in its own process (so its CPU is not
the benchmark's) with::

    python -m bench.sink --log FILE [--port N]

It prints ``ready <port>`` on standard output once it listens. No TLS, no AUTH: loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

#: The name in the greeting; fixed because the default (``socket.getfqdn()``) can stall on DNS.
SERVER_HOSTNAME = "localhost"
LOOPBACK_HOST = "127.0.0.1"
#: What the log holds for a message that carries no Message-ID header.
NO_MESSAGE_ID = "-"

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str:
    """The Message-ID of a message (searched in its header block only)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    match = _MESSAGE_ID.search(head)
    return match.group(1).decode("ascii", "replace") if match else NO_MESSAGE_ID


class CountingHandler:
    """Accepts and discards; appends ``<arrival unix time>\\t<Message-ID>\\t<recipients>`` per message."""

    def __init__(self, log) -> None:
        self._log = log
        self.accepted = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        arrived = time.time()
        data = envelope.original_content or b""
        self.accepted += 1
        # One write per message, flushed, so the benchmark can follow the log while it grows.
        self._log.write(f"{arrived:.6f}\t{message_id_of(data)}\t{len(envelope.rcpt_tos)}\n")
        self._log.flush()
        return "250 OK"


def read_log(path: Path) -> list[tuple[float, str, int]]:
    """The complete lines of a sink log: (arrival time, Message-ID, recipient count)."""
    out = []
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            if not line.endswith("\n"):
                break  # being written
            arrived, message_id, rcpts = line.rstrip("\n").split("\t")
            out.append((float(arrived), message_id, int(rcpts)))
    return out


async def serve(log_path: Path, port: int) -> None:
    loop = asyncio.get_running_loop()
    with open(log_path, "a", encoding="ascii") as log:
        handler = CountingHandler(log)
        server = await loop.create_server(
            lambda: SMTP(handler, hostname=SERVER_HOSTNAME, enable_SMTPUTF8=True, data_size_limit=None),
            host=LOOPBACK_HOST,
            port=port,
        )
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
        await stop.wait()
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.log, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
