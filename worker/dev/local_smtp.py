"""A local SMTP server that delivers every accepted message to a directory as ``.eml``.

Used as the mail server of ``invoice-worker demo`` and by tests: what the worker sends
can be opened in any mail client. It accepts everything (no AUTH, no TLS) and binds
loopback by default. Run it in its own process with::

    python -m worker.dev.local_smtp --out DIR [--port N]
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import signal
import socket
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

#: Largest message accepted, in bytes (the common 25 MB limit of public providers).
DEFAULT_DATA_SIZE_LIMIT_BYTES = 25 * 1024 * 1024
#: How long ``start()`` waits for the server thread to answer, in seconds.
DEFAULT_READY_TIMEOUT_S = 5.0
#: Longest recipient part of a file name, in characters.
MAX_NAME_RECIPIENT_CHARS = 80

#: How many probed free ports ``start()`` tries before giving up.
PORT_ATTEMPTS = 3

LOOPBACK_HOST = "127.0.0.1"
#: The name the server gives in its greeting; fixed because the default
#: (``socket.getfqdn()``) can stall on a DNS lookup.
SERVER_HOSTNAME = "localhost"

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9.@+_-]")


def find_free_port(host: str = LOOPBACK_HOST) -> int:
    """Return a TCP port that nothing listens on right now (another process may take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def eml_file_name(received_at: datetime, counter: int, first_recipient: str) -> str:
    """Name an ``.eml`` file so that a directory listing sorts by arrival."""
    stamp = received_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    recipient = _UNSAFE_NAME_CHARS.sub("_", first_recipient)[:MAX_NAME_RECIPIENT_CHARS]
    return f"{stamp}-{counter:06d}-{recipient or 'no-recipient'}.eml"


def delivery_headers(mail_from: str, rcpt_tos: list[str]) -> bytes:
    """Build the trace headers a final delivery adds (RFC 5321 section 4.4)."""
    # The envelope can differ from the To/Cc headers (Bcc, list expansion), so it is
    # recorded: Return-Path for the sender, one folded X-Envelope-To for recipients.
    recipients = ",\r\n ".join(f"<{rcpt}>" for rcpt in rcpt_tos)
    text = f"Return-Path: <{mail_from}>\r\nX-Envelope-To: {recipients}\r\n"
    # With SMTPUTF8 the addresses may be non-ASCII; RFC 6532 allows raw UTF-8 headers.
    return text.encode("utf-8", errors="surrogateescape")


class EmlDirectoryHandler:
    """aiosmtpd handler that writes each message, unaltered after the trace headers."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._counter = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mail_from = envelope.mail_from or ""
        self.write_eml(delivery_headers(mail_from, envelope.rcpt_tos) + content, envelope.rcpt_tos)
        return "250 2.0.0 OK: delivered to directory"

    def write_eml(self, message: bytes, rcpt_tos: list[str]) -> Path:
        """Write one message file atomically and return its path."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        first_recipient = rcpt_tos[0] if rcpt_tos else ""
        name = eml_file_name(datetime.now(UTC), next(self._counter), first_recipient)
        path = self.out_dir / name
        # Write then rename, so that whoever watches the directory never reads half
        # a message.
        partial = path.with_name(f".{name}.partial")
        partial.write_bytes(message)
        os.replace(partial, path)
        return path


class LocalSmtpServer:
    """An SMTP server in a background thread that delivers into ``out_dir``."""

    def __init__(
        self,
        out_dir: Path,
        host: str = LOOPBACK_HOST,
        port: int = 0,
        *,
        data_size_limit_bytes: int = DEFAULT_DATA_SIZE_LIMIT_BYTES,
        ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.requested_port = port
        self.data_size_limit_bytes = data_size_limit_bytes
        self.ready_timeout_s = ready_timeout_s
        self.handler = EmlDirectoryHandler(self.out_dir)
        self._controller: Controller | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when port 0 was asked for).

        Raises:
          RuntimeError: before ``start()``.
        """
        if self._port is None:
            raise RuntimeError("LocalSmtpServer is not started")
        return self._port

    def start(self) -> None:
        """Bind and serve in a background thread; returns once the server answers."""
        if self._controller is not None:
            raise RuntimeError("LocalSmtpServer already started")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        # aiosmtpd's Controller needs a concrete port to connect to its own server. A
        # probed free port can be taken before we bind it, hence the retries.
        attempts = 1 if self.requested_port else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            port = self.requested_port or find_free_port(self.host)
            controller = self._make_controller(port)
            try:
                controller.start()
            except OSError:
                _discard_failed_controller(controller)
                if attempt == attempts:
                    raise
                continue
            except BaseException:
                _discard_failed_controller(controller)
                raise
            self._controller = controller
            self._port = port
            return

    def _make_controller(self, port: int) -> Controller:
        return Controller(
            self.handler,
            hostname=self.host,
            port=port,
            ready_timeout=self.ready_timeout_s,
            server_hostname=SERVER_HOSTNAME,
            data_size_limit=self.data_size_limit_bytes,
            enable_SMTPUTF8=True,
        )

    def stop(self) -> None:
        """Stop serving and join the server thread; a no-op when not started."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
            self._port = None

    def __enter__(self) -> LocalSmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _discard_failed_controller(controller: Controller) -> None:
    """Join the thread of a Controller whose start() failed and close its loop."""
    controller.stop(no_assert=True)
    if not controller.loop.is_closed():
        controller.loop.close()


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; print the bound port on stdout first."""
    parser = argparse.ArgumentParser(
        prog="python -m worker.dev.local_smtp",
        description="Local SMTP server writing every message as .eml into a directory.",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for .eml files")
    parser.add_argument("--host", default=LOOPBACK_HOST, help="address to bind")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    args = parser.parse_args(argv)

    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with LocalSmtpServer(args.out, args.host, args.port) as server:
        # The port alone on stdout, so that a parent process can read it.
        print(server.port, flush=True)
        print(f"delivering to {args.out.resolve()}", file=sys.stderr, flush=True)
        stop_requested.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
