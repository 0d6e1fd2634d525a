"""The MIME builder: what a mail client reads back is exactly what was rendered, on both paths."""

from __future__ import annotations

import base64
import dataclasses
import email
import email.policy
from datetime import UTC, datetime

import pytest

from worker.domain.model import Attachment, Contact, Recipients, RenderedEmail
from worker.emails.mime import MAX_HEADER_LINE, build_message
from worker.emails.preview import preview_context
from worker.emails.rendering import render
from worker.errors import HeaderInjection
from worker.settings import Settings

SENT_AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RENDERED = RenderedEmail(
    kind="invoice",
    locale="nl-NL",
    subject="Factuur INV-0000001: € 24.000,00 — te betalen vóór 21 december 2026",
    text="Beste Zoë,\n\nFrom the first line = a test; trailing space \n" + "é" * 60 + "\n",
    html="<p>Beste Zoë, <b>€ 24.000,00</b></p>\n",
)


def build(recipients: Recipients, rendered: RenderedEmail = RENDERED) -> bytes:
    return build_message(
        rendered,
        recipients,
        mail_from="Invoice Worker Cloud <billing@invoice-worker.example>",
        message_id="<invoice.INV-0000001.abc@invoice-worker.example>",
        sent_at=SENT_AT,
    )


def content(part) -> str:
    # On the wire every line ends in CRLF (RFC 5322); the rendered text uses "\n".
    return part.get_content().replace("\r\n", "\n")


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


ASCII_RECIPIENTS = Recipients(
    to=(Contact("Zoë O'Brien", "zoe@bücher.example"),),
    cc=(
        Contact("Debiteuren, afdeling", "ar@acme.example"),
        Contact("Siobhán Ní Bhriain van de relatie", "rel@acme.example"),
    ),
)


def test_an_ascii_envelope_message_reads_back_exactly_as_rendered():
    # Given recipients whose addresses are ASCII after punycode (the fast path)
    raw = build(ASCII_RECIPIENTS)

    # When a mail client parses it
    msg = parsed(raw)

    # Then headers decode to the originals, bodies round-trip byte for byte, lines end in CRLF
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert msg["Subject"] == RENDERED.subject
    assert msg["To"] == "Zoë O'Brien <zoe@xn--bcher-kva.example>"
    assert msg["Cc"].addresses[0].display_name == "Debiteuren, afdeling"
    assert msg["Cc"].addresses[1].display_name == "Siobhán Ní Bhriain van de relatie"
    assert msg["Message-ID"] == "<invoice.INV-0000001.abc@invoice-worker.example>"
    assert msg["Content-Language"] == "nl-NL" and msg.get_content_type() == "multipart/alternative"
    assert content(msg.get_body(("plain",))) == RENDERED.text
    assert content(msg.get_body(("html",))) == RENDERED.html
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    assert all(not part.defects for part in msg.walk())
    headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert all(len(line) <= 998 for line in headers)
    assert max(len(line) for line in headers if line.startswith(b"Date")) <= MAX_HEADER_LINE


def test_the_same_delivery_builds_the_same_bytes():
    assert build(ASCII_RECIPIENTS) == build(ASCII_RECIPIENTS)


def test_a_non_ascii_local_part_keeps_raw_utf8_headers_for_smtputf8():
    raw = build(Recipients(to=(Contact("Zoë", "zoë@bücher.example"),)))
    msg = parsed(raw)
    assert "zoë@xn--bcher-kva.example" in msg["To"]
    assert content(msg.get_body(("plain",))) == RENDERED.text


@pytest.mark.parametrize("locale", ["nl-NL\r\nBcc: evil@x.example"])
def test_a_line_break_in_the_locale_is_refused_too(locale):
    rendered = RenderedEmail(kind="invoice", locale=locale, subject="s", text="t\n", html="<p>h</p>")
    with pytest.raises(HeaderInjection):
        build(ASCII_RECIPIENTS, rendered)


def test_a_rendered_invoice_reads_back_exactly_as_rendered():
    # Given an invoice rendered from its templates (the HTML part arrives in the pieces it was written in)
    rendered = render("invoice", preview_context("invoice", Settings()), "nl-NL")
    assert rendered.html_parts

    # When its message is built and a mail client parses it
    raw = build(ASCII_RECIPIENTS, rendered)
    msg = parsed(raw)

    # Then both parts read back as rendered, in lines no longer than quoted-printable allows
    assert content(msg.get_body(("html",))) == rendered.html
    assert content(msg.get_body(("plain",))) == rendered.text
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")


def test_html_pieces_that_are_not_the_html_are_not_sent():
    # Given a RenderedEmail whose pieces disagree with its HTML (built by hand, say)
    rendered = dataclasses.replace(RENDERED, html_parts=("<p>something else</p>",))

    # Then the HTML itself is sent
    assert content(parsed(build(ASCII_RECIPIENTS, rendered)).get_body(("html",))) == RENDERED.html


def test_many_copied_contacts_fold_into_short_lines_and_read_back():
    # Given ten contacts on Cc, with accented and quoted names
    cc = tuple(
        Contact(name, f"contact{i}@acme.example")
        for i, name in enumerate(["Zoë O'Brien", "Debiteuren, afdeling", "Jan Jansen", "Anaïs Lefèvre", ""] * 2)
    )

    raw = build(Recipients(to=(Contact("Els", "els@acme.example"),), cc=cc))

    cc_header = raw.split(b"\r\nCc: ", 1)[1].split(b"\r\nDate: ", 1)[0]
    assert max(len(line) for line in (b"Cc: " + cc_header).split(b"\r\n")) <= MAX_HEADER_LINE
    addresses = parsed(raw)["Cc"].addresses
    assert [(a.display_name, a.addr_spec) for a in addresses] == [(c.name, c.email) for c in cc]


def test_a_line_break_in_the_sender_is_refused_every_time():
    # The From line is built once per sender; a refusal must not be remembered as a success.
    for _ in range(2):
        with pytest.raises(HeaderInjection):
            build_message(
                RENDERED,
                ASCII_RECIPIENTS,
                mail_from="Billing <billing@x.example>\r\nBcc: evil@x.example",
                message_id="<m@x.example>",
                sent_at=SENT_AT,
            )


def header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize(
    "recipients", [ASCII_RECIPIENTS, Recipients(to=(Contact("Zoë", "zoë@bücher.example"),))], ids=["ascii", "smtputf8"]
)
def test_every_email_says_it_is_automatic_so_out_of_office_replies_stay_away(recipients):
    # Given a message built on either path
    msg = parsed(build(recipients))
    # Then it carries RFC 3834's Auto-Submitted and Exchange's suppression header
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "All"


def test_a_message_id_of_the_longest_kind_stays_on_one_header_line():
    # Given a Message-ID as the worker makes them (26 characters of digest) at a 37-character domain
    message_id = "<" + "a" * 26 + "@" + "billing.invoice-worker-cloud.example" + "x" + ">"
    raw = build_message(
        RENDERED, ASCII_RECIPIENTS, mail_from="Billing <b@x.example>", message_id=message_id, sent_at=SENT_AT
    )
    # Then the header is one line, within 78 octets, and every other header line is too
    (line,) = [line for line in header_lines(raw) if line.startswith(b"Message-ID:")]
    assert line == b"Message-ID: " + message_id.encode() and len(line) <= MAX_HEADER_LINE
    assert max(len(line) for line in header_lines(build(ASCII_RECIPIENTS))) <= MAX_HEADER_LINE


def test_a_message_id_too_long_for_78_octets_is_still_not_folded():
    # Given a Message-ID longer than a line (a very long MAIL_FROM domain)
    message_id = "<" + "a" * 16 + "@" + "d" * 70 + ".example>"
    raw = build_message(
        RENDERED, ASCII_RECIPIENTS, mail_from="Billing <b@x.example>", message_id=message_id, sent_at=SENT_AT
    )
    # Then it stays on its header line (a msg-id has no place to fold), as receivers expect it
    assert b"Message-ID: " + message_id.encode() + b"\r\n" in raw
    assert parsed(raw)["Message-ID"] == message_id


UTF8_RECIPIENTS = Recipients(to=(Contact("Zoë", "zoë@bücher.example"),))

PDF = Attachment("INV-0000001.pdf", "application/pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40)
XML = Attachment("INV-0000001.xml", "application/xml", "<Invoice>é</Invoice>".encode())


@pytest.mark.parametrize("recipients", [ASCII_RECIPIENTS, UTF8_RECIPIENTS], ids=["ascii", "smtputf8"])
def test_attachments_travel_after_the_alternative_byte_for_byte(recipients):
    # Given an invoice email with its PDF and its e-invoice XML
    raw = build_message(
        RENDERED,
        recipients,
        mail_from="Invoice Worker Cloud <billing@invoice-worker.example>",
        message_id="<m@invoice-worker.example>",
        sent_at=SENT_AT,
        attachments=(PDF, XML),
    )
    # When a mail client reads it
    msg = parsed(raw)
    # Then it is multipart/mixed: the text and HTML as rendered, then both files as attachments
    assert msg.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in msg.iter_parts()] == [
        "multipart/alternative",
        "application/pdf",
        "application/xml",
    ]
    assert content(msg.get_body(("plain",))) == RENDERED.text
    attached = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert attached == {"INV-0000001.pdf": PDF.data, "INV-0000001.xml": XML.data}
    # base64 in lines of 76 (RFC 2045), nowhere near SMTP's 998-octet limit
    assert max(len(line) for line in raw.split(b"\r\n")) < 100


def test_an_attachment_is_sent_in_the_standard_base64_lines():
    # Given an invoice email with its PDF, when built, then the PDF's part holds exactly what the
    # standard library's MIME encoder writes (76 characters a line): a message built again after
    # retention must come out byte for byte the same.
    raw = build_message(
        RENDERED,
        ASCII_RECIPIENTS,
        mail_from="Invoice Worker Cloud <billing@invoice-worker.example>",
        message_id="<m@invoice-worker.example>",
        sent_at=SENT_AT,
        attachments=(PDF,),
    )
    part = raw.split(b'filename="INV-0000001.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n')[1]
    assert part.split(b"--")[0] == base64.encodebytes(PDF.data).replace(b"\n", b"\r\n")


def test_an_email_without_attachments_stays_multipart_alternative():
    assert parsed(build(ASCII_RECIPIENTS)).get_content_type() == "multipart/alternative"


@pytest.mark.parametrize(
    "attachment",
    [
        Attachment("INV-1.pdf\r\nBcc: x@evil.example", "application/pdf", b"x"),
        Attachment("INV-1.pdf", "application/pdf\r\nBcc: x@evil.example", b"x"),
    ],
    ids=["filename", "content-type"],
)
def test_a_line_break_in_an_attachment_header_is_refused(attachment):
    with pytest.raises(HeaderInjection):
        build_message(
            RENDERED,
            ASCII_RECIPIENTS,
            mail_from="billing@invoice-worker.example",
            message_id="<m@invoice-worker.example>",
            sent_at=SENT_AT,
            attachments=(attachment,),
        )


def test_a_file_name_beyond_plain_ascii_is_rfc2231_encoded_and_reads_back():
    odd = Attachment('Factuur "2026" é.pdf', "application/pdf", b"%PDF")
    raw = build_message(
        RENDERED,
        ASCII_RECIPIENTS,
        mail_from="billing@invoice-worker.example",
        message_id="<m@invoice-worker.example>",
        sent_at=SENT_AT,
        attachments=(odd,),
    )
    assert [a.get_filename() for a in parsed(raw).iter_attachments()] == [odd.filename]


def test_a_copy_names_the_original_message_it_repeats():
    raw = build_message(
        RENDERED,
        ASCII_RECIPIENTS,
        mail_from="billing@invoice-worker.example",
        message_id="<copy@invoice-worker.example>",
        sent_at=SENT_AT,
        in_reply_to="<original@invoice-worker.example>",
    )
    msg = parsed(raw)
    assert msg["In-Reply-To"] == msg["References"] == "<original@invoice-worker.example>"
