"""A ScriptedSmtpServer with a real relay's rules about the client's own setup, as Postfix
applies them: a HELO name it refuses (`reject_non_fqdn_helo_hostname` answers 504 5.5.2), a
session closed with 421 after each message, and the names the clients greeted with.

AUTH with wrong credentials needs nothing new: ScriptedSmtpServer with `auth_credentials` answers
535 5.7.8 as Postfix does.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.smtp_doubles import ScriptedSmtpServer, _ScriptHandler

#: Postfix's reply to a HELO name that is not fully qualified.
NON_FQDN_HELO_REPLY = "504 5.5.2 <{name}>: Helo command rejected: need fully-qualified hostname"
#: What a relay that takes one message per connection says to the next MAIL.
CLOSING_REPLY = "421 4.3.2 Service closing transmission channel, one message per connection"


class _RelayRulesHandler(_ScriptHandler):
    server: RelayRulesServer

    async def handle_EHLO(
        self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        self.server.helo_names.append(hostname)
        refused = self.server.refusal_for(hostname)
        if refused is not None:
            return [refused]  # session.host_name stays unset: MAIL is refused too
        return await super().handle_EHLO(smtp, session, envelope, hostname, responses)

    async def handle_HELO(self, smtp: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        self.server.helo_names.append(hostname)
        refused = self.server.refusal_for(hostname)
        if refused is not None:
            return refused
        session.host_name = hostname
        return f"250 {smtp.hostname}"

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.server.close_after_each_message and getattr(session, "messages_taken", 0) >= 1:
            self.server.closing_replies += 1
            assert smtp.transport is not None
            # After the reply is written: close() flushes it first.
            asyncio.get_running_loop().call_soon(smtp.transport.close)
            return CLOSING_REPLY
        return await super().handle_MAIL(smtp, session, envelope, address, mail_options)

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(smtp, session, envelope)
        if reply.startswith("2"):
            session.messages_taken = getattr(session, "messages_taken", 0) + 1  # type: ignore[attr-defined]
        return reply


class RelayRulesServer(ScriptedSmtpServer):
    """ScriptedSmtpServer plus (read at each command, so a test may change them between sends):

      require_fqdn_helo: refuse EHLO and HELO with a name that has no dot, or is a localhost
        name, with Postfix's 504 5.5.2.
      helo_reply: answer every EHLO and HELO with this instead (None: as above).
      close_after_each_message: answer MAIL with 421 and close, once a message was taken on the
        connection.
    At start: implicit_tls_context, TLS from the first byte (SMTP_TLS=tls, port 465) with it.
    Observed: helo_names (every name greeted with, in order), closing_replies (421s sent).
    """

    def __init__(
        self,
        *,
        require_fqdn_helo: bool = False,
        helo_reply: str | None = None,
        close_after_each_message: bool = False,
        implicit_tls_context: ssl.SSLContext | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.implicit_tls_context = implicit_tls_context
        self.require_fqdn_helo = require_fqdn_helo
        self.helo_reply = helo_reply
        self.close_after_each_message = close_after_each_message
        self.helo_names: list[str] = []
        self.closing_replies = 0
        self._handler = _RelayRulesHandler(self)

    async def _listen(self, port: int) -> None:
        if self.implicit_tls_context is None:
            await super()._listen(port)
            return
        self._listener = await asyncio.get_running_loop().create_server(
            self._new_connection, host=self.host, port=port, ssl=self.implicit_tls_context
        )
        self._port = self._listener.sockets[0].getsockname()[1]

    def refusal_for(self, hostname: str) -> str | None:
        """The reply refusing `hostname`, or None to greet it."""
        if self.helo_reply is not None:
            return self.helo_reply
        labels = hostname.split(".")
        if self.require_fqdn_helo and (len(labels) < 2 or labels[0].lower() == "localhost"):
            return NON_FQDN_HELO_REPLY.format(name=hostname)
        return None
