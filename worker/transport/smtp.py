"""The SMTP adapter: aiosmtplib connections kept open and reused, one transaction per message,
and the reply for each recipient returned as data (partial success is not an exception).

Each reply carries the stage it answered (`SmtpStage`): the session is set up step by step
(greeting, EHLO with `SMTP_HELO_NAME`, STARTTLS, EHLO again, AUTH), so that a refusal of the
worker's own setup (a wrong password, a HELO name the relay dislikes, a certificate that does
not verify) is told apart from a refusal of the recipient by `worker.domain.delivery`.

A `421` (the server is closing the session) at any stage before the message is taken is
retried at once, once, on a fresh connection: relays that close after each message, or that
shed load, then cost a reconnect instead of a retry backoff.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import ssl
from dataclasses import dataclass, field
from functools import cache

import aiosmtplib

from worker.domain.delivery import NO_REPLY, SmtpReply, SmtpStage
from worker.emails.mime import ascii_domain, needs_smtputf8
from worker.errors import UnsafeSmtpConfiguration
from worker.transport.relay_health import RelayHealth

log = logging.getLogger(__name__)

#: The reply code of a server closing the session (RFC 5321 4.2.3).
SERVICE_CLOSING = 421

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@cache
def default_helo_name() -> str:
    """This host's fully qualified name, as the resolver gives it (once per process)."""
    return socket.getfqdn()


def is_fqdn(name: str) -> bool:
    """A name a relay's `reject_non_fqdn_helo_hostname` accepts and that is not a placeholder:
    two or more DNS labels, not a `localhost` name, a top label that is not all digits; or an
    address literal (`[192.0.2.1]`)."""
    if name.startswith("[") and name.endswith("]"):
        try:
            ipaddress.ip_address(name[1:-1].removeprefix("IPv6:"))
            return True
        except ValueError:
            return False
    labels = name.rstrip(".").split(".")
    if len(labels) < 2 or len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    return labels[0].lower() != "localhost" and labels[-1].lower() != "localdomain" and not labels[-1].isdigit()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    connections: int = 4
    ca_file: str | None = None
    allow_plaintext_auth: bool = False
    #: The name sent in EHLO/HELO (SMTP_HELO_NAME); None: this host's fully qualified name.
    helo_name: str | None = None

    @property
    def local_hostname(self) -> str:
        """The name sent in EHLO/HELO (an IDN in punycode: EHLO is ASCII)."""
        return ascii_domain(self.helo_name) if self.helo_name else default_helo_name()

    def check(self) -> None:
        """Refuse to send credentials in plaintext to anything but loopback, and a HELO name a
        relay would refuse (`localhost`, a bare host name) towards anything but loopback.

        Raises:
          UnsafeSmtpConfiguration
        """
        if self.tls not in ("none", "starttls", "tls"):
            raise UnsafeSmtpConfiguration(f"SMTP_TLS must be none, starttls or tls, not {self.tls!r}")
        if self.username and self.tls == "none" and not (_is_loopback(self.host) or self.allow_plaintext_auth):
            raise UnsafeSmtpConfiguration(
                f"SMTP credentials would be sent in plaintext to {self.host}: set SMTP_TLS=starttls or tls"
            )
        name = self.local_hostname
        if any(ch.isspace() or not ch.isprintable() for ch in name) or not name:
            raise UnsafeSmtpConfiguration(f"SMTP_HELO_NAME {name!r} holds whitespace or control characters")
        if not _is_loopback(self.host) and not is_fqdn(name):
            source = "SMTP_HELO_NAME" if self.helo_name else "this host's name (SMTP_HELO_NAME unset)"
            raise UnsafeSmtpConfiguration(
                f"{source} is {name!r}, not a fully qualified domain name: the relay {self.host} may refuse "
                "it (Postfix reject_non_fqdn_helo_hostname answers 504 5.5.2). Set SMTP_HELO_NAME to this "
                "host's public name, e.g. mailer1.example.com"
            )

    def tls_context(self) -> ssl.SSLContext:
        # Verified by default: hostname and chain, against the system store or the given CA.
        return ssl.create_default_context(cafile=self.ca_file)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SendResult:
    """The reply for each recipient; None for a recipient whose outcome is unknown (the message
    data went out and the connection ended before the server answered)."""

    replies: dict[str, SmtpReply | None]


class _SetupRefused(Exception):
    """The session could not be set up (greeting, EHLO, TLS, AUTH): the reply, with its stage."""

    def __init__(self, reply: SmtpReply) -> None:
        super().__init__(str(reply))
        self.reply = reply


@dataclass(frozen=True)
class _Transaction:
    result: SendResult
    #: The connection may carry the next message.
    reusable: bool
    #: The server said 421 before it took the message: nothing was delivered, try a fresh one.
    closing: bool = False


class SmtpSender:
    """A small pool of open SMTP connections on the running event loop."""

    def __init__(self, config: SmtpConfig, health: RelayHealth | None = None) -> None:
        config.check()
        self.config = config
        #: What the relay last said to a session set-up (shared by the process's senders).
        self.health = health or RelayHealth()
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None
        self._busy = 0

    @property
    def connections(self) -> tuple[int, int]:
        """(idle, busy) connections of the pool, for the metrics."""
        return len(self._idle), self._busy

    async def probe(self) -> None:
        """Set up a session (greeting, EHLO, TLS, AUTH as configured) and quit, recording the
        result in `health`: what `/readyz` does when no email went out lately."""
        try:
            client = await self._connect()
        except _SetupRefused as exc:
            self.health.failed(f"{exc.reply} at {exc.reply.stage}")
            return
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            self.health.failed(str(_failure_reply(exc)))
            return
        self.health.succeeded()
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()

    @property
    def relay(self) -> str:
        """`host:port` of the relay, for logs and alerts (never the credentials)."""
        return f"{self.config.host}:{self.config.port}"

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            timeout=c.timeout_s,
            local_hostname=c.local_hostname,
            use_tls=c.tls == "tls",
            start_tls=False,  # done in _connect, step by step, so that each refusal has its stage
            tls_context=c.tls_context() if c.tls != "none" else None,
            validate_certs=True,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        """A connection ready for MAIL: greeted, EHLO, STARTTLS and EHLO again, AUTH, as configured.

        Raises:
          _SetupRefused: a reply (or a TLS failure) at one of those stages.
          TimeoutError, aiosmtplib.SMTPException, OSError: the connection failed or was lost.
        """
        client = self._client()
        try:
            try:
                await client.connect()
            except aiosmtplib.SMTPConnectResponseError as exc:
                raise _SetupRefused(SmtpReply(exc.code, exc.message, SmtpStage.CONNECT)) from None
            except aiosmtplib.SMTPConnectError as exc:
                if isinstance(exc.__cause__, ssl.SSLError):  # implicit TLS (SMTP_TLS=tls)
                    raise _SetupRefused(_tls_failure(exc.__cause__)) from None
                raise
            await _hello(client)
            if self.config.tls == "starttls":
                await _start_tls(client)
                await _hello(client)
            if self.config.username:
                await _login(client, self.config.username, self.config.password or "")
        except BaseException:
            client.close()
            raise
        return client

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def send(self, mail_from: str, recipients: list[str], message: bytes) -> SendResult:
        """Send one message to `recipients`; never raises for SMTP or connection failures."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.config.connections)
        async with self._slots:
            self._busy += 1
            try:
                return await self._send(mail_from, recipients, message)
            finally:
                self._busy -= 1

    async def _send(self, mail_from: str, recipients: list[str], message: bytes) -> SendResult:
        client = self._idle.pop() if self._idle else None
        # Each at most once: a reused connection found closed before anything was sent, and
        # a 421 before the message was taken, are both tried again at once on a fresh one.
        retry_stale, retry_closing = True, True
        while True:
            reused = client is not None and client.is_connected
            try:
                if client is None or not reused:
                    if client is not None:
                        client.close()
                    client = None
                    client = await self._connect()
                    self.health.succeeded()
                step = await self._transaction(client, mail_from, recipients, message)
                if reused:  # a session that still works, for /readyz (a new one said so at connect)
                    self.health.succeeded()
            except _SetupRefused as exc:
                client = None  # _connect closed it
                self.health.failed(f"{exc.reply} at {exc.reply.stage}")
                if exc.reply.code == SERVICE_CLOSING and retry_closing:
                    retry_closing = False
                    log.info("relay %s: %s at %s; reconnecting at once", self.relay, exc.reply, exc.reply.stage)
                    continue
                return SendResult(dict.fromkeys(recipients, exc.reply))
            except aiosmtplib.SMTPServerDisconnected as exc:
                # Raised before DATA (DATA handles its own): nothing was sent.
                if client is not None:
                    client.close()
                client = None
                if reused and retry_stale:
                    retry_stale = False
                    continue
                return SendResult(dict.fromkeys(recipients, _failure_reply(exc)))
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                if client is None:  # the connection itself failed
                    self.health.failed(str(_failure_reply(exc)))
                else:
                    client.close()
                return SendResult(dict.fromkeys(recipients, _failure_reply(exc)))
            if step.closing and retry_closing:
                retry_closing = False
                client.close()
                client = None
                log.info("relay %s: 421 before the message was taken; reconnecting at once", self.relay)
                continue
            if step.reusable and client.is_connected:
                self._idle.append(client)
            else:
                client.close()
            return step.result

    async def _transaction(
        self, client: aiosmtplib.SMTP, mail_from: str, recipients: list[str], message: bytes
    ) -> _Transaction:
        """MAIL, RCPT for each recipient, DATA.

        Raises:
          aiosmtplib.SMTPServerDisconnected: before DATA (nothing sent).
        """
        replies: dict[str, SmtpReply | None] = {}
        utf8 = needs_smtputf8(mail_from) or any(needs_smtputf8(r) for r in recipients)
        if utf8 and not client.supports_extension("smtputf8"):
            # RFC 6531: without SMTPUTF8 a non-ASCII address cannot be delivered at all.
            # About the recipient's address (never deliverable there), not our sender: stage RCPT.
            reply = SmtpReply(553, "5.6.7 the server does not support SMTPUTF8 for this address", SmtpStage.RCPT)
            return _Transaction(SendResult(dict.fromkeys(recipients, reply)), reusable=True)
        options = ["SMTPUTF8"] if utf8 else []
        encoding = "utf-8" if utf8 else "ascii"
        try:
            await client.mail(mail_from, options=options, encoding=encoding)
        except aiosmtplib.SMTPResponseException as exc:
            reply = SmtpReply(exc.code, exc.message, SmtpStage.MAIL)
            if exc.code == SERVICE_CLOSING:
                return _Transaction(SendResult(dict.fromkeys(recipients, reply)), reusable=False, closing=True)
            await _reset(client)
            return _Transaction(SendResult(dict.fromkeys(recipients, reply)), reusable=True)
        accepted = []
        for rcpt in recipients:
            try:
                response = await client.rcpt(rcpt, encoding=encoding)
                accepted.append(rcpt)
                replies[rcpt] = SmtpReply(response.code, response.message, SmtpStage.RCPT)
            except aiosmtplib.SMTPResponseException as exc:
                reply = SmtpReply(exc.code, exc.message, SmtpStage.RCPT)
                if exc.code == SERVICE_CLOSING:
                    # The session is over: every recipient not refused yet gets the 421.
                    rest = {r: reply for r in recipients if r not in replies or r in accepted}
                    return _Transaction(SendResult({**replies, **rest}), reusable=False, closing=True)
                replies[rcpt] = reply
        if not accepted:
            await _reset(client)
            return _Transaction(SendResult(replies), reusable=True)
        try:
            response = await client.data(message)
        except aiosmtplib.SMTPResponseException as exc:
            reply = SmtpReply(exc.code, exc.message, SmtpStage.DATA)
            for rcpt in accepted:
                replies[rcpt] = reply
            if exc.code == SERVICE_CLOSING:  # not taken: safe to send again
                return _Transaction(SendResult(replies), reusable=False, closing=True)
            await _reset(client)
            return _Transaction(SendResult(replies), reusable=True)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
            # The data may have reached the server: the outcome for these recipients is unknown.
            for rcpt in accepted:
                replies[rcpt] = None
            return _Transaction(SendResult(replies), reusable=False)
        for rcpt in accepted:
            replies[rcpt] = SmtpReply(response.code, response.message, SmtpStage.DATA)
        return _Transaction(SendResult(replies), reusable=True)


async def _hello(client: aiosmtplib.SMTP) -> None:
    """EHLO, falling back to HELO when the server refuses EHLO but stays on the line.

    Raises:
      _SetupRefused: the name was refused (stage HELO).
    """
    try:
        await client.ehlo()
        return
    except aiosmtplib.SMTPHeloError as exc:
        if not client.is_connected:
            raise _SetupRefused(SmtpReply(exc.code, exc.message, SmtpStage.HELO)) from None
    try:
        await client.helo()
    except aiosmtplib.SMTPHeloError as exc:
        raise _SetupRefused(SmtpReply(exc.code, exc.message, SmtpStage.HELO)) from None


async def _start_tls(client: aiosmtplib.SMTP) -> None:
    """STARTTLS, verified; never a fallback to plaintext.

    Raises:
      _SetupRefused: not offered, refused, or the handshake or certificate failed (stage TLS).
    """
    if not client.supports_extension("starttls"):
        text = "the relay does not offer STARTTLS (SMTP_TLS=starttls): not sent in plaintext"
        raise _SetupRefused(SmtpReply(NO_REPLY, text, SmtpStage.TLS))
    try:
        await client.starttls()
    except aiosmtplib.SMTPResponseException as exc:
        raise _SetupRefused(SmtpReply(exc.code, exc.message, SmtpStage.TLS)) from None
    except ssl.SSLError as exc:
        raise _SetupRefused(_tls_failure(exc)) from None


async def _login(client: aiosmtplib.SMTP, username: str, password: str) -> None:
    """AUTH with the configured credentials.

    Raises:
      _SetupRefused: refused, or no mechanism in common (stage AUTH). The password is never in it.
    """
    try:
        await client.login(username, password)
    except aiosmtplib.SMTPResponseException as exc:
        raise _SetupRefused(SmtpReply(exc.code, exc.message, SmtpStage.AUTH)) from None
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        raise
    except aiosmtplib.SMTPException as exc:  # AUTH not offered, no mechanism in common
        raise _SetupRefused(SmtpReply(NO_REPLY, str(exc), SmtpStage.AUTH)) from None


def _tls_failure(exc: ssl.SSLError) -> SmtpReply:
    what = exc.verify_message if isinstance(exc, ssl.SSLCertVerificationError) else (exc.reason or str(exc))
    return SmtpReply(NO_REPLY, f"TLS handshake failed: {what}", SmtpStage.TLS)


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _failure_reply(exc: BaseException) -> SmtpReply:
    """A connection-level failure as a reply: the server's code when it said one, else "no reply"."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpReply(exc.code, exc.message)
    return SmtpReply(NO_REPLY, f"{type(exc).__name__}: {exc}".strip())
