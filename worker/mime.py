"""Build the MIME message of a rendered email: multipart/alternative, text then HTML.

Every header value is checked for line breaks before anything is built (header injection), display
names are RFC 2047 encoded by the email package, and IDN domains are turned into punycode.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, parseaddr

from worker.errors import HeaderInjection
from worker.model import Contact, Recipients, RenderedEmail

_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def refuse_line_breaks(header: str, value: str) -> str:
    """Raises HeaderInjection when `value` holds any line break."""
    if _LINE_BREAK.search(value):
        raise HeaderInjection(header)
    return value


def ascii_domain(domain: str) -> str:
    """An IDN domain in punycode (IDNA 2003 via the stdlib codec), an ASCII one unchanged."""
    try:
        domain.encode("ascii")
        return domain
    except UnicodeEncodeError:
        return domain.encode("idna").decode("ascii")


def envelope_address(email: str) -> str:
    """The address as used on the SMTP envelope: the domain in punycode, the local part as is."""
    local, _, domain = refuse_line_breaks("address", email).rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def needs_smtputf8(email: str) -> bool:
    return not envelope_address(email).isascii()


def _address(header: str, contact: Contact) -> Address:
    refuse_line_breaks(header, contact.name)
    local, _, domain = envelope_address(contact.email).rpartition("@")
    return Address(display_name=contact.name, username=local, domain=domain)


def _mailbox(header: str, value: str) -> Address:
    name, email = parseaddr(refuse_line_breaks(header, value))
    return _address(header, Contact(name=name, email=email))


def build_message(
    rendered: RenderedEmail,
    recipients: Recipients,
    *,
    mail_from: str,
    message_id: str,
    sent_at: datetime,
) -> bytes:
    """The message bytes, ready for DATA.

    Raises:
      HeaderInjection: a name, subject or address holds a line break.
    """
    msg = EmailMessage()
    msg["Subject"] = refuse_line_breaks("Subject", rendered.subject)
    msg["From"] = _mailbox("From", mail_from)
    msg["To"] = [_address("To", c) for c in recipients.to]
    if recipients.cc:
        msg["Cc"] = [_address("Cc", c) for c in recipients.cc]
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = refuse_line_breaks("Message-ID", message_id)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # After the parts exist: making the message multipart moves Content-* headers into a part.
    msg["Content-Language"] = rendered.locale
    any_utf8 = any(needs_smtputf8(c.email) for c in (*recipients.to, *recipients.cc))
    return msg.as_bytes(policy=SMTPUTF8 if any_utf8 else SMTP)
