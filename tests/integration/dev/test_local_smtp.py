"""LocalSmtpServer: every accepted message becomes one .eml file, content unaltered."""

from __future__ import annotations

import asyncio
import email.policy
import re
import signal
import subprocess
import sys
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import aiosmtplib

from worker.dev.local_smtp import LocalSmtpServer

SAFE_FILE_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-\d{6}-[A-Za-z0-9.@+_-]+\.eml$")


def invoice_email(*, to: str, subject: str = "Your invoice INV-42") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "billing@shop.example"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Amount due: 12.50 EUR\n")
    return message


def send(message: EmailMessage, port: int, **kwargs: object) -> None:
    asyncio.run(aiosmtplib.send(message, hostname="127.0.0.1", port=port, timeout=5, **kwargs))


def parse(path: Path) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_sent_message_becomes_exactly_one_eml_file(local_smtp: LocalSmtpServer, eml_dir: Path) -> None:
    # Given
    message = invoice_email(to="alice@customer.example")

    # When
    send(message, local_smtp.port, recipients=["alice@customer.example", "bob@customer.example"])

    # Then
    files = list(eml_dir.iterdir())
    assert len(files) == 1
    assert SAFE_FILE_NAME.match(files[0].name), files[0].name
    assert "alice@customer.example" in files[0].name
    delivered = parse(files[0])
    assert delivered["Subject"] == "Your invoice INV-42"
    assert delivered["To"] == "alice@customer.example"
    assert delivered["Return-Path"] == "<billing@shop.example>"
    assert delivered["X-Envelope-To"] == "<alice@customer.example>, <bob@customer.example>"
    # Stored as received: with the CRLF line ends of the wire format.
    assert delivered.get_content() == "Amount due: 12.50 EUR\r\n"


def test_the_message_bytes_follow_the_trace_headers_unaltered(local_smtp: LocalSmtpServer, eml_dir: Path) -> None:
    # Given raw bytes, including a line that SMTP dot-stuffs on the wire
    raw = (
        b"From: billing@shop.example\r\nTo: alice@customer.example\r\nSubject: raw\r\n\r\nline one\r\n.leading dot\r\n"
    )

    # When
    send_raw = aiosmtplib.send(
        raw,
        sender="billing@shop.example",
        recipients=["alice@customer.example"],
        hostname="127.0.0.1",
        port=local_smtp.port,
        timeout=5,
    )
    asyncio.run(send_raw)

    # Then
    (file,) = eml_dir.iterdir()
    assert file.read_bytes() == (
        b"Return-Path: <billing@shop.example>\r\nX-Envelope-To: <alice@customer.example>\r\n" + raw
    )


def test_non_ascii_subject_and_smtputf8_address_survive(local_smtp: LocalSmtpServer, eml_dir: Path) -> None:
    # Given a UTF-8 mailbox, which needs SMTPUTF8, and a non-ASCII subject
    message = invoice_email(to="zoë@kunde.example", subject="Rechnung Nr. 42 – fällig am 15.03.")

    # When
    send(message, local_smtp.port)

    # Then
    (file,) = eml_dir.iterdir()
    assert SAFE_FILE_NAME.match(file.name), file.name
    delivered = parse(file)
    assert delivered["Subject"] == "Rechnung Nr. 42 – fällig am 15.03."
    assert delivered["To"] == "zoë@kunde.example"
    assert delivered["X-Envelope-To"] == "<zoë@kunde.example>"


def test_server_advertises_8bitmime_smtputf8_and_a_25_mb_limit(local_smtp: LocalSmtpServer) -> None:
    # When
    async def ehlo_extensions() -> dict[str, str]:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=local_smtp.port, timeout=5) as client:
            await client.ehlo()
            return client.esmtp_extensions

    extensions = asyncio.run(ehlo_extensions())

    # Then
    assert "8bitmime" in extensions
    assert "smtputf8" in extensions
    assert extensions["size"] == str(25 * 1024 * 1024)


def test_messages_keep_arriving_in_order_as_separate_files(local_smtp: LocalSmtpServer, eml_dir: Path) -> None:
    # When
    for number in (1, 2, 3):
        send(invoice_email(to=f"c{number}@customer.example"), local_smtp.port)

    # Then the names sort by arrival
    names = sorted(path.name for path in eml_dir.iterdir())
    assert [name.split("-")[2] for name in names] == [
        "c1@customer.example.eml",
        "c2@customer.example.eml",
        "c3@customer.example.eml",
    ]


def test_runs_in_its_own_process_until_sigterm(tmp_path: Path) -> None:
    # Given
    out_dir = tmp_path / "outbox"
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.dev.local_smtp", "--out", str(out_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())

        # When
        send(invoice_email(to="alice@customer.example"), port)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    # Then
    assert process.returncode == 0, stderr
    assert len(list(out_dir.glob("*.eml"))) == 1
