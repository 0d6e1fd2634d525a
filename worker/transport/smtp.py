"""The SMTP adapter: aiosmtplib connections kept open and reused, one transaction per message,
and the reply for each recipient returned as data (partial success is not an exception).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from dataclasses import dataclass, field

import aiosmtplib

from worker.domain.delivery import NO_REPLY, SmtpReply
from worker.emails.mime import needs_smtputf8
from worker.errors import UnsafeSmtpConfiguration

log = logging.getLogger(__name__)


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

    def check(self) -> None:
        """Refuse to send credentials in plaintext to anything but loopback.

        Raises:
          UnsafeSmtpConfiguration
        """
        if self.tls not in ("none", "starttls", "tls"):
            raise UnsafeSmtpConfiguration(f"SMTP_TLS must be none, starttls or tls, not {self.tls!r}")
        if self.username and self.tls == "none" and not (_is_loopback(self.host) or self.allow_plaintext_auth):
            raise UnsafeSmtpConfiguration(
                f"SMTP credentials would be sent in plaintext to {self.host}: set SMTP_TLS=starttls or tls"
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


class SmtpSender:
    """A small pool of open SMTP connections on the running event loop."""

    def __init__(self, config: SmtpConfig) -> None:
        config.check()
        self.config = config
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots: asyncio.Semaphore | None = None

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            timeout=c.timeout_s,
            use_tls=c.tls == "tls",
            start_tls=c.tls == "starttls",
            tls_context=c.tls_context() if c.tls != "none" else None,
            validate_certs=True,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._client()
        await client.connect()
        if self.config.username:
            await client.login(self.config.username, self.config.password or "")
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
            client = self._idle.pop() if self._idle else None
            reused = client is not None
            try:
                if client is None or not client.is_connected:
                    reused = False
                    client = await self._connect()
                result, healthy = await self._transaction(client, mail_from, recipients, message, retry_stale=reused)
                if result is None:  # a reused connection had gone stale before anything was sent
                    client.close()
                    client = await self._connect()
                    result, healthy = await self._transaction(client, mail_from, recipients, message, retry_stale=False)
                assert result is not None
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                if client is not None:
                    client.close()
                reply = _failure_reply(exc)
                return SendResult(dict.fromkeys(recipients, reply))
            if healthy:
                self._idle.append(client)
            else:
                client.close()
            return result

    async def _transaction(
        self, client: aiosmtplib.SMTP, mail_from: str, recipients: list[str], message: bytes, *, retry_stale: bool
    ) -> tuple[SendResult | None, bool]:
        replies: dict[str, SmtpReply | None] = {}
        utf8 = needs_smtputf8(mail_from) or any(needs_smtputf8(r) for r in recipients)
        if utf8 and client.is_ehlo_or_helo_needed:
            # The extensions are only known after EHLO, which aiosmtplib otherwise sends in MAIL.
            try:
                await client.ehlo()
            except aiosmtplib.SMTPServerDisconnected:
                if retry_stale:
                    return None, False
                raise
        if utf8 and not client.supports_extension("smtputf8"):
            # RFC 6531: without SMTPUTF8 a non-ASCII address cannot be delivered at all.
            reply = SmtpReply(553, "5.6.7 the server does not support SMTPUTF8 for this address")
            return SendResult(dict.fromkeys(recipients, reply)), True
        options = ["SMTPUTF8"] if utf8 else []
        try:
            await client.mail(mail_from, options=options, encoding="utf-8" if utf8 else "ascii")
        except aiosmtplib.SMTPServerDisconnected:
            if retry_stale:
                return None, False
            raise
        except aiosmtplib.SMTPResponseException as exc:
            await _reset(client)
            return SendResult({r: SmtpReply(exc.code, exc.message) for r in recipients}), True
        accepted = []
        for rcpt in recipients:
            try:
                response = await client.rcpt(rcpt, encoding="utf-8" if utf8 else "ascii")
                accepted.append(rcpt)
                replies[rcpt] = SmtpReply(response.code, response.message)
            except aiosmtplib.SMTPResponseException as exc:
                replies[rcpt] = SmtpReply(exc.code, exc.message)
        if not accepted:
            await _reset(client)
            return SendResult(replies), True
        try:
            response = await client.data(message)
        except aiosmtplib.SMTPResponseException as exc:
            for rcpt in accepted:
                replies[rcpt] = SmtpReply(exc.code, exc.message)
            await _reset(client)
            return SendResult(replies), exc.code != 421
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError):
            # The data may have reached the server: the outcome for these recipients is unknown.
            for rcpt in accepted:
                replies[rcpt] = None
            return SendResult(replies), False
        for rcpt in accepted:
            replies[rcpt] = SmtpReply(response.code, response.message)
        return SendResult(replies), True


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        client.close()


def _failure_reply(exc: BaseException) -> SmtpReply:
    """A connection-level failure as a reply: 421 when the server said so, else "no reply"."""
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return SmtpReply(exc.code, exc.message)
    return SmtpReply(NO_REPLY, f"{type(exc).__name__}: {exc}".strip())
