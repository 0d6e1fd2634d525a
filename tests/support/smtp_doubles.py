"""A real SMTP server on loopback whose replies a test scripts, per recipient and per stage.

Not a mock: clients talk real SMTP over TCP (with STARTTLS and AUTH when asked) to an
aiosmtpd server running in a background thread. Scripting attributes are read when each
command arrives, so a test may change them between sends.
"""

from __future__ import annotations

import asyncio
import email.policy
import ssl
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

#: Largest message accepted, in bytes (as the local delivery server).
DEFAULT_DATA_SIZE_LIMIT_BYTES = 25 * 1024 * 1024
#: How long a control call (start, stop, down, up) may take before the test fails, in s.
CONTROL_TIMEOUT_S = 10.0
#: How long a hung-up connection's handler may linger before it is cancelled, in s.
HANG_UP_LINGER_S = 60.0

LOOPBACK_HOST = "127.0.0.1"
#: Fixed greeting name: the aiosmtpd default (``socket.getfqdn()``) can stall on DNS.
SERVER_HOSTNAME = "localhost"

StallStage = Literal["connect", "mail", "rcpt", "data"]
HangUpStage = Literal["mail", "rcpt", "data", "data_accepted"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted with a 2xx reply to DATA."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    mail_options: tuple[str, ...] = ()
    #: Whether the message came over a STARTTLS-protected session.
    tls: bool = False
    #: The AUTH login of the session, if it authenticated.
    auth_login: str | None = None


def _is_success(reply: str) -> bool:
    return reply[:1] == "2"


class _ScriptedSMTP(SMTP):
    """aiosmtpd's SMTP session that can stall before its greeting and reports its end."""

    def __init__(self, handler: _ScriptHandler, **smtp_kwargs: Any) -> None:
        super().__init__(handler, **smtp_kwargs)
        self._script = handler.server

    async def _handle_client(self) -> None:
        # The greeting is sent by aiosmtpd before any handler hook runs, so the
        # "connect" stall has to wrap the whole session.
        stall_s = self._script.stall_for("connect")
        if stall_s:
            await asyncio.sleep(stall_s)
        await super()._handle_client()

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        self._script._connection_ended(self)


class _ScriptHandler:
    """aiosmtpd hooks that consult the ScriptedSmtpServer's current script."""

    def __init__(self, server: ScriptedSmtpServer) -> None:
        self.server = server

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        # With this hook aiosmtpd leaves recording the client name to us.
        session.host_name = hostname
        if self.server.auth_credentials is None:
            # Without credentials, do not advertise AUTH at all, like a server that
            # has none configured.
            return [line for line in responses if not line[4:].upper().startswith("AUTH")]
        return responses

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        await self.server._before_reply(smtp, "mail")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        await self.server._before_reply(smtp, "rcpt")
        scripted = self.server.reply_for(address)
        if scripted is not None:
            return scripted
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.hang_up_after == "data_accepted":
            # The message is kept, then the reply is lost: the client cannot know it arrived.
            self.server._record(session, envelope)
        await self.server._before_reply(smtp, "data")
        reply = self.server._next_data_reply()
        if _is_success(reply):
            self.server._record(session, envelope)
        return reply


class ScriptedSmtpServer:
    """An SMTP server on loopback for tests, scripted per recipient and per stage.

    Scripting (read at each command, so it may change between sends):
      reply_for_rcpt: exact reply per recipient address (case-insensitive); others get 250.
      data_replies: replies to DATA, one consumed per message; when empty "250 OK".
        A 4xx/5xx reply does not record the message.
      stall_s, stall_stage: sleep that long before answering that stage.
      hang_up_after: close the connection instead of answering that stage; for "data"
        the whole message has been read and is not recorded; "data_accepted" records it
        first (the relay kept it, the 250 was lost).
    TLS and AUTH (read at each new connection):
      tls_context: offer STARTTLS with it; require_starttls refuses mail without it.
      smtputf8: advertise SMTPUTF8 (RFC 6531); off, a non-ASCII address cannot be sent.
      auth_credentials: {login: password} for AUTH PLAIN/LOGIN, advertised only after
        STARTTLS unless auth_require_tls is False; auth_required refuses mail without it.
    """

    def __init__(
        self,
        *,
        host: str = LOOPBACK_HOST,
        port: int = 0,
        reply_for_rcpt: dict[str, str] | None = None,
        data_replies: list[str] | None = None,
        stall_s: float = 0.0,
        stall_stage: StallStage | None = None,
        hang_up_after: HangUpStage | None = None,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        auth_credentials: dict[str, str] | None = None,
        auth_require_tls: bool = True,
        auth_required: bool = False,
        data_size_limit_bytes: int = DEFAULT_DATA_SIZE_LIMIT_BYTES,
        smtputf8: bool = True,
    ) -> None:
        self.host = host
        self.reply_for_rcpt: dict[str, str] = dict(reply_for_rcpt or {})
        self.data_replies: list[str] = list(data_replies or [])
        self.stall_s = stall_s
        self.stall_stage: StallStage | None = stall_stage
        self.hang_up_after: HangUpStage | None = hang_up_after
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.auth_credentials = auth_credentials
        self.auth_require_tls = auth_require_tls
        self.auth_required = auth_required
        self.data_size_limit_bytes = data_size_limit_bytes
        self.smtputf8 = smtputf8

        self._requested_port = port
        self._port: int | None = None
        self._messages: list[ReceivedMessage] = []
        self._messages_changed = threading.Condition()
        self._connections: set[_ScriptedSMTP] = set()
        self._handler = _ScriptHandler(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: asyncio.Server | None = None

    # -- observing -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port; it stays the same across ``down()``/``up()``.

        Raises:
          RuntimeError: before ``start()``.
        """
        if self._port is None:
            raise RuntimeError("ScriptedSmtpServer is not started")
        return self._port

    @property
    def messages(self) -> list[ReceivedMessage]:
        """A snapshot of the accepted messages, oldest first."""
        with self._messages_changed:
            return list(self._messages)

    def received_by(self, address: str) -> list[ReceivedMessage]:
        """The accepted messages whose envelope includes ``address`` (case-insensitive)."""
        wanted = address.casefold()
        return [m for m in self.messages if any(r.casefold() == wanted for r in m.rcpt_tos)]

    def wait_for_messages(self, count: int, *, timeout_s: float = 5.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages were accepted (e.g. by another process).

        Raises:
          TimeoutError: when fewer arrived within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        with self._messages_changed:
            while len(self._messages) < count:
                remaining_s = deadline - time.monotonic()
                if remaining_s <= 0:
                    raise TimeoutError(f"{len(self._messages)} of {count} messages arrived within {timeout_s} s")
                self._messages_changed.wait(remaining_s)
            return list(self._messages)

    def clear(self) -> None:
        """Forget the accepted messages (the script stays as it is)."""
        with self._messages_changed:
            self._messages.clear()

    def reply_for(self, address: str) -> str | None:
        """The scripted RCPT reply for ``address``, or None for the default 250."""
        wanted = address.casefold()
        for scripted_address, reply in self.reply_for_rcpt.items():
            if scripted_address.casefold() == wanted:
                return reply
        return None

    def stall_for(self, stage: StallStage) -> float:
        """Seconds to sleep before answering ``stage`` (0 when it is not the stalled one)."""
        return self.stall_s if self.stall_stage == stage else 0.0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Run the event loop in a background thread and start listening."""
        if self._thread is not None:
            raise RuntimeError("ScriptedSmtpServer already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run_loop, args=(loop,), name="scripted-smtp")
        thread.daemon = True  # never keep a failed test run alive
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            self._call(self._listen(self._requested_port))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Drop every connection, stop listening, and join the thread; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._go_down())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CONTROL_TIMEOUT_S)
            self._loop = self._thread = None

    def down(self) -> None:
        """Stop listening and drop open connections; clients now get "connection refused"."""
        self._call(self._go_down())

    def up(self) -> None:
        """Listen again on the same port after ``down()``."""
        if self._listener is None:
            self._call(self._listen(self.port))

    def __enter__(self) -> ScriptedSmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inside the loop thread ------------------------------------------------------

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CONTROL_TIMEOUT_S)

    async def _listen(self, port: int) -> None:
        self._listener = await asyncio.get_running_loop().create_server(self._new_connection, host=self.host, port=port)
        self._port = self._listener.sockets[0].getsockname()[1]

    async def _go_down(self) -> None:
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
            self._listener = None
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.abort()
        # Wait for the session tasks to end, so that nothing is left pending when the
        # loop stops (which would warn about destroyed tasks and unclosed transports).
        current = asyncio.current_task()
        sessions = [task for task in asyncio.all_tasks() if task is not current]
        if sessions:
            _, still_running = await asyncio.wait(sessions, timeout=CONTROL_TIMEOUT_S / 2)
            for task in still_running:
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

    def _new_connection(self) -> _ScriptedSMTP:
        connection = _ScriptedSMTP(
            self._handler,
            hostname=SERVER_HOSTNAME,
            data_size_limit=self.data_size_limit_bytes,
            enable_SMTPUTF8=self.smtputf8,
            tls_context=self.tls_context,
            require_starttls=self.require_starttls,
            auth_required=self.auth_required,
            auth_require_tls=self.auth_require_tls,
            authenticator=self._authenticate,
            loop=asyncio.get_running_loop(),
        )
        self._connections.add(connection)
        return connection

    def _connection_ended(self, connection: _ScriptedSMTP) -> None:
        self._connections.discard(connection)

    async def _before_reply(self, smtp: SMTP, stage: HangUpStage) -> None:
        stall_s = self.stall_for(stage)
        if stall_s:
            await asyncio.sleep(stall_s)
        if self.hang_up_after == stage or (stage == "data" and self.hang_up_after == "data_accepted"):
            assert smtp.transport is not None
            smtp.transport.close()
            # Never reply: closing the transport makes aiosmtpd cancel this session
            # task, which ends this sleep.
            await asyncio.sleep(HANG_UP_LINGER_S)
            raise ConnectionResetError(f"hung up at {stage}")

    def _next_data_reply(self) -> str:
        return self.data_replies.pop(0) if self.data_replies else "250 OK"

    def _record(self, session: Session, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        auth_data = session.auth_data if session.authenticated else None
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=BytesParser(policy=email.policy.default).parsebytes(data),  # type: ignore[arg-type]
            mail_options=tuple(envelope.mail_options),
            tls=session.ssl is not None,
            auth_login=(
                auth_data.login.decode("utf-8", errors="replace") if isinstance(auth_data, LoginPassword) else None
            ),
        )
        with self._messages_changed:
            self._messages.append(received)
            self._messages_changed.notify_all()

    def _authenticate(
        self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        credentials = self.auth_credentials or {}
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", errors="replace")
            password = auth_data.password.decode("utf-8", errors="replace")
            if login in credentials and credentials[login] == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
