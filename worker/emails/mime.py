"""Build the MIME message of a rendered email: multipart/alternative, text then HTML, and, with
attachments (the invoice's PDF, its e-invoice XML), multipart/mixed around it: the alternative
first, then each file, base64, as an attachment named by its `filename`.

Every header value is checked for line breaks before anything is built (header injection), display
names are RFC 2047 encoded by the email package, and IDN domains are turned into punycode.

Two builders, one output contract. Messages whose addresses are all ASCII (after punycode) are
written directly: the same headers and quoted-printable parts, RFC 2047 names via the email
package's `formataddr`/`Header`, bodies encoded by worker.emails.quoted_printable (binascii, with the HTML
part's fixed markup encoded once per template rather than once per email). `EmailMessage` with a
modern policy cost several ms per email in header parsing and refolding, the largest share of a
worker's CPU (see README, Performance). A non-ASCII local part needs SMTPUTF8 raw UTF-8 headers,
which the modern policy writes, so those few keep the `EmailMessage` path.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import encode_rfc2231, format_datetime, formataddr, parseaddr
from functools import lru_cache

from worker.domain.model import Attachment, Contact, Recipients, RenderedEmail
from worker.emails.quoted_printable import quoted_printable, quoted_printable_parts
from worker.errors import HeaderInjection

#: On every email: it is machine-sent (RFC 3834), so auto-responders (out of office, vacation)
#: do not answer it; the second is Exchange's and Outlook's way of saying the same.
AUTOMATIC_HEADERS = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))

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
    attachments: Sequence[Attachment] = (),
    in_reply_to: str | None = None,
) -> bytes:
    """The message bytes, ready for DATA. `in_reply_to` (a Message-ID) makes it a reply to that
    message (`In-Reply-To` and `References`): a re-sent copy names the original.

    Raises:
      HeaderInjection: a name, subject, address, Message-ID or file name holds a line break.
    """
    for attachment in attachments:
        _check_attachment(attachment)
    if not any(needs_smtputf8(c.email) for c in (*recipients.to, *recipients.cc)):
        return _build_ascii_message(
            rendered,
            recipients,
            mail_from=mail_from,
            message_id=message_id,
            sent_at=sent_at,
            attachments=attachments,
            in_reply_to=in_reply_to,
        )
    msg = EmailMessage()
    msg["Subject"] = refuse_line_breaks("Subject", rendered.subject)
    msg["From"] = _mailbox("From", mail_from)
    msg["To"] = [_address("To", c) for c in recipients.to]
    if recipients.cc:
        msg["Cc"] = [_address("Cc", c) for c in recipients.cc]
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = refuse_line_breaks("Message-ID", message_id)
    if in_reply_to is not None:
        msg["In-Reply-To"] = msg["References"] = refuse_line_breaks("In-Reply-To", in_reply_to)
    for name, value in AUTOMATIC_HEADERS:
        msg[name] = value
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    # After the parts exist: making the message multipart moves Content-* headers into a part.
    msg["Content-Language"] = rendered.locale
    any_utf8 = any(needs_smtputf8(c.email) for c in (*recipients.to, *recipients.cc))
    return msg.as_bytes(policy=SMTPUTF8 if any_utf8 else SMTP)


#: Longest header line written before folding (RFC 5322 2.1.1 recommends 78).
MAX_HEADER_LINE = 78
_CRLF = "\r\n"


#: Display names remembered in their header form (RFC 2047 encoding them is ~5 µs each).
DISPLAY_NAMES_CACHED = 4096
# Any ASCII address: formataddr writes the name the same way whatever the address.
_ANY_ADDRESS = "x@x.invalid"


def _formatted(header: str, contact: Contact) -> str:
    """``Name <local@punycode>``, the name RFC 2047 encoded when not ASCII, quoted when needed."""
    refuse_line_breaks(header, contact.name)
    address = envelope_address(contact.email)
    address.encode("ascii")  # as formataddr does: raises UnicodeError for a non-ASCII address
    return f"{_display_name(contact.name)} <{address}>" if contact.name else address


@lru_cache(maxsize=DISPLAY_NAMES_CACHED)
def _display_name(name: str) -> str:
    return formataddr((name, _ANY_ADDRESS), charset="utf-8").removesuffix(f" <{_ANY_ADDRESS}>")


@lru_cache(maxsize=16)
def _from_line(mail_from: str) -> str:
    """The From header of ``mail_from`` (one per process, in practice); raises HeaderInjection."""
    name, email = parseaddr(refuse_line_breaks("From", mail_from))
    return _header_line("From", _formatted("From", Contact(name=name, email=email)))


def _address_list_line(name: str, addresses: list[str]) -> str:
    """One address-list header, folded after a comma only when it is too long."""
    line = f"{name}: " + ", ".join(addresses)
    if len(line) <= MAX_HEADER_LINE:
        return line
    # As many addresses on a line as fit, the space after a comma starting the next line: what
    # email.header writes, except that it never folds inside an address (a quoted name).
    lines, current = [], f"{name}: {addresses[0]}"
    for address in addresses[1:]:
        if len(current) + len(", ") + len(address) < MAX_HEADER_LINE:
            current += ", " + address
        else:
            lines.append(current + ",")
            current = " " + address
    lines.append(current)
    if any(len(folded) > MAX_HEADER_LINE for folded in lines):
        # An address longer than a line: the email package folds inside it.
        return _header_line(name, ", ".join(addresses))
    return _CRLF.join(lines)


def _header_line(name: str, value: str, *, encode: bool = False) -> str:
    """One header, RFC 2047 encoded if asked and not ASCII, folded only when it is too long."""
    if encode and not value.isascii():
        return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep=_CRLF, maxlinelen=MAX_HEADER_LINE)
    line = f"{name}: {value}"
    if len(line) <= MAX_HEADER_LINE:
        return line
    return f"{name}: " + Header(value, header_name=name).encode(
        splitchars=",", linesep=_CRLF, maxlinelen=MAX_HEADER_LINE
    )


def _boundary(message_id: str) -> str:
    # "=" never occurs unescaped in a quoted-printable body, so a boundary starting with "==" can
    # not collide with the parts (why email.generator's own boundaries look like this too). Derived
    # from the Message-ID, so the same delivery always builds the same bytes.
    return "==_" + hashlib.sha256(message_id.encode()).hexdigest()[:32] + "=="


#: What an attachment's file name may hold as is; any other is written RFC 2231 encoded.
_PLAIN_FILENAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTENT_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+")
#: Bytes per base64 line: 57 encode to the 76 characters RFC 2045 allows.
_BASE64_LINE_BYTES = 57


def _check_attachment(attachment: Attachment) -> None:
    refuse_line_breaks("attachment filename", attachment.filename)
    if not _CONTENT_TYPE.fullmatch(attachment.content_type):
        raise HeaderInjection("attachment Content-Type")


def _filename_params(filename: str) -> str:
    if _PLAIN_FILENAME.fullmatch(filename):
        return f'filename="{filename}"'
    return f"filename*={encode_rfc2231(filename, 'utf-8')}"


def _attachment_part(boundary: str, attachment: Attachment) -> bytes:
    # One C call a line, its "\n" included: 0.37 -> 0.22 ms for a 45 KB PDF, the same bytes.
    data = attachment.data
    encoded = b"".join(
        [binascii.b2a_base64(data[i : i + _BASE64_LINE_BYTES]) for i in range(0, len(data), _BASE64_LINE_BYTES)]
    )
    head = (
        f"--{boundary}\nContent-Type: {attachment.content_type}\n"
        f"Content-Disposition: attachment; {_filename_params(attachment.filename)}\n"
        "Content-Transfer-Encoding: base64\n\n"
    )
    return head.encode("ascii") + encoded


def _build_ascii_message(
    rendered: RenderedEmail,
    recipients: Recipients,
    *,
    mail_from: str,
    message_id: str,
    sent_at: datetime,
    attachments: Sequence[Attachment] = (),
    in_reply_to: str | None = None,
) -> bytes:
    """The message for ASCII-only addresses, written directly as multipart/alternative bytes
    (inside multipart/mixed with the attachments after it, when there are any).

    Raises:
      HeaderInjection: a name, subject or address holds a line break.
    """
    subject = refuse_line_breaks("Subject", rendered.subject)
    headers = [
        _header_line("Subject", subject, encode=True),
        _from_line(mail_from),
        _address_list_line("To", [_formatted("To", c) for c in recipients.to]),
    ]
    if recipients.cc:
        headers.append(_address_list_line("Cc", [_formatted("Cc", c) for c in recipients.cc]))
    boundary = _boundary(refuse_line_breaks("Message-ID", message_id))
    headers += [
        f"Date: {format_datetime(sent_at)}",
        # Never folded: a msg-id has no whitespace to fold at (the email package would move it to
        # a line of its own); `worker.services.messages` keeps it short enough for 78 octets.
        f"Message-ID: {message_id}",
    ]
    if in_reply_to is not None:
        reply_to_id = refuse_line_breaks("In-Reply-To", in_reply_to)
        headers += [f"In-Reply-To: {reply_to_id}", f"References: {reply_to_id}"]
    headers += [
        *(f"{name}: {value}" for name, value in AUTOMATIC_HEADERS),
        _header_line("Content-Language", refuse_line_breaks("Content-Language", rendered.locale)),
        "MIME-Version: 1.0",
    ]
    # Folded before the boundary, as the email package does: on one line it is 85 octets.
    alternative_type = f'Content-Type: multipart/alternative;\n boundary="{boundary}"'
    mixed = "==_mixed" + boundary.removeprefix("==_")
    # The body is written with "\n" line ends, turned into CRLF at once: every line break in it
    # is one that the quoted-printable encoder or this function wrote (a bare CR never gets in).
    body = b"".join(
        (
            f'--{boundary}\nContent-Type: text/{subtype}; charset="utf-8"\n'
            "Content-Transfer-Encoding: quoted-printable\n\n"
        ).encode("ascii")
        # The "\n" after a part belongs to the boundary that follows it.
        + encoded
        + b"\n"
        for encoded, subtype in ((quoted_printable(rendered.text), "plain"), (_html_encoded(rendered), "html"))
    ) + f"--{boundary}--\n".encode("ascii")
    if attachments:
        headers.append(f'Content-Type: multipart/mixed;{_CRLF} boundary="{mixed}"')
        body = (
            f"--{mixed}\n{alternative_type}\n\n".encode("ascii")
            + body
            + b"".join(_attachment_part(mixed, attachment) for attachment in attachments)
            + f"--{mixed}--\n".encode("ascii")
        )
    else:
        headers.append(alternative_type.replace("\n", _CRLF))
    return (_CRLF.join(headers) + _CRLF + _CRLF).encode("ascii") + body.replace(b"\n", b"\r\n")


def _html_encoded(rendered: RenderedEmail) -> bytes:
    # The pieces are used only when they are the HTML: a RenderedEmail built by hand may lack them.
    if rendered.html_parts and "".join(rendered.html_parts) == rendered.html:
        return quoted_printable_parts(rendered.html_parts)
    return quoted_printable(rendered.html)
