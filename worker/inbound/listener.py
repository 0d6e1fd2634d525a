"""The inbound bounce listener: an aiosmtpd server that accepts mail only for genuine VERP return
paths and hands each message to `services.bounces.apply_bounce`. Thin: no rule lives here.

RCPT for anything but a return path this installation issued (its token found in the store, its
HMAC matching what the token names) is refused (550), so forged or stray mail is
turned away in the session and never bounced back (no backscatter). A failure to record (Redis
down) answers 451: the reporting MTA keeps the report and tries again.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from worker.domain.verp import InvalidVerpToken
from worker.services.bounces import apply_bounce, target_of
from worker.services.context import ServiceContext

log = logging.getLogger(__name__)

#: Largest report accepted (bytes): a DSN quotes at most the original message.
BOUNCE_SIZE_LIMIT_BYTES = 10 * 1024 * 1024
#: Name in the greeting; fixed, because aiosmtpd's default (getfqdn) can stall on DNS.
SERVER_HOSTNAME = "localhost"


class _BounceHandler:
    def __init__(self, app: ServiceContext) -> None:
        self.app = app

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            await target_of(self.app, address)
        except InvalidVerpToken as exc:
            log.warning("bounce listener: refused RCPT %s: %s", address, exc)
            return "550 5.1.1 not a bounce address of this service"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            for rcpt in envelope.rcpt_tos:
                await apply_bounce(self.app, rcpt, raw)
        except InvalidVerpToken:
            return "550 5.1.1 not a bounce address of this service"
        except Exception:  # Redis down, lock busy: the reporting MTA will try again
            log.exception("bounce listener: could not record a report; answered 451")
            return "451 4.3.0 could not record the report, try again later"
        return "250 OK report recorded"


class BounceListener:
    """Serve on (host, port) in a background thread until stopped."""

    def __init__(self, app: ServiceContext, *, host: str, port: int) -> None:
        self.app = app
        self._controller = Controller(
            _BounceHandler(app),
            hostname=host,
            port=port,
            server_hostname=SERVER_HOSTNAME,
            data_size_limit=BOUNCE_SIZE_LIMIT_BYTES,
            enable_SMTPUTF8=True,
        )

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> None:
        self._controller.start()
        log.info("bounce listener on %s:%s", self._controller.hostname, self._controller.port)

    def stop(self) -> None:
        loop = self._controller.loop
        if loop.is_running():
            # The Redis client belongs to the listener's loop: close it there.
            asyncio.run_coroutine_threadsafe(self.app.aclose(), loop).result(10)
        self._controller.stop()

    def __enter__(self) -> BounceListener:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
