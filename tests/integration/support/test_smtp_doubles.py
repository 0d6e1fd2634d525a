"""Every scripted behaviour of ScriptedSmtpServer is what a real aiosmtplib client sees."""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from aiosmtplib import SMTPResponse

from tests.support.certs import TlsMaterial
from tests.support.smtp_doubles import ScriptedSmtpServer

SENDER = "billing@shop.example"


def invoice_email(*, to: str = "alice@customer.example") -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = "Your invoice INV-42"
    message.set_content("Amount due: 12.50 EUR\n")
    return message


#: How long to keep the client's loop running after a send, in seconds. aiosmtplib
#: closes a STARTTLS connection without waiting for the close_notify exchange; if
#: asyncio.run closed the loop at once the socket would leak (ResourceWarning).
TLS_CLOSE_GRACE_S = 0.02


def send(
    server: ScriptedSmtpServer, message: EmailMessage | None = None, **kwargs: Any
) -> tuple[dict[str, SMTPResponse], str]:
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("start_tls", False)

    async def send_then_let_tls_close() -> tuple[dict[str, SMTPResponse], str]:
        try:
            return await aiosmtplib.send(message or invoice_email(), hostname="127.0.0.1", port=server.port, **kwargs)
        finally:
            if kwargs["start_tls"]:
                await asyncio.sleep(TLS_CLOSE_GRACE_S)

    return asyncio.run(send_then_let_tls_close())


def test_accepts_and_records_a_message_by_default(smtp_server: ScriptedSmtpServer) -> None:
    # When
    errors, reply = send(smtp_server)

    # Then
    assert errors == {}
    assert reply.startswith("OK")
    (received,) = smtp_server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == ("alice@customer.example",)
    assert received.message["Subject"] == "Your invoice INV-42"
    assert b"Amount due: 12.50 EUR" in received.data
    assert received.tls is False
    assert smtp_server.received_by("ALICE@customer.example") == [received]


def test_scripted_recipient_replies_refuse_only_those_recipients(
    smtp_server: ScriptedSmtpServer,
) -> None:
    # Given
    smtp_server.reply_for_rcpt = {
        "bad@x.example": "550 5.1.1 No such user",
        "full@x.example": "452 4.2.2 Mailbox full",
    }

    # When
    errors, _ = send(smtp_server, recipients=["bad@x.example", "full@x.example", "ok@x.example"])

    # Then
    assert errors == {
        "bad@x.example": SMTPResponse(550, "5.1.1 No such user"),
        "full@x.example": SMTPResponse(452, "4.2.2 Mailbox full"),
    }
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ("ok@x.example",)
    assert smtp_server.received_by("bad@x.example") == []


def test_every_recipient_refused_raises_and_records_nothing(
    smtp_server: ScriptedSmtpServer,
) -> None:
    # Given
    smtp_server.reply_for_rcpt = {"bad@x.example": "550 5.1.1 No such user"}

    # When / Then
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        send(smtp_server, recipients=["bad@x.example"])
    assert smtp_server.messages == []


def test_data_replies_are_consumed_one_per_message_and_refusals_are_not_recorded(
    smtp_server: ScriptedSmtpServer,
) -> None:
    # Given
    smtp_server.data_replies = ["451 4.3.0 Try again later", "554 5.6.0 Content rejected"]

    # When / Then
    with pytest.raises(aiosmtplib.SMTPDataError) as first:
        send(smtp_server)
    with pytest.raises(aiosmtplib.SMTPDataError) as second:
        send(smtp_server)
    send(smtp_server)

    assert (first.value.code, second.value.code) == (451, 554)
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("stage", ["connect", "mail", "rcpt", "data"])
def test_a_stall_makes_the_client_time_out(smtp_server: ScriptedSmtpServer, stage: str) -> None:
    # Given
    smtp_server.stall_s = 5.0
    smtp_server.stall_stage = stage  # type: ignore[assignment]

    # When / Then
    with pytest.raises(aiosmtplib.SMTPTimeoutError):
        send(smtp_server, timeout=0.3)
    assert smtp_server.messages == []


def test_a_short_stall_only_delays_the_reply(smtp_server: ScriptedSmtpServer) -> None:
    # Given
    smtp_server.stall_s = 0.1
    smtp_server.stall_stage = "data"

    # When
    send(smtp_server, timeout=2)

    # Then
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("stage", ["mail", "rcpt", "data"])
def test_a_hang_up_disconnects_the_client_and_records_nothing(smtp_server: ScriptedSmtpServer, stage: str) -> None:
    # Given
    smtp_server.hang_up_after = stage  # type: ignore[assignment]

    # When / Then
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        send(smtp_server)
    assert smtp_server.messages == []


def test_down_refuses_connections_and_up_serves_again_on_the_same_port(
    smtp_server: ScriptedSmtpServer,
) -> None:
    # Given
    port = smtp_server.port

    # When
    smtp_server.down()

    # Then
    with pytest.raises(aiosmtplib.SMTPConnectError):
        send(smtp_server)

    # When
    smtp_server.up()

    # Then
    send(smtp_server)
    assert smtp_server.port == port
    assert len(smtp_server.messages) == 1


def test_clear_forgets_received_messages(smtp_server: ScriptedSmtpServer) -> None:
    # Given
    send(smtp_server)

    # When
    smtp_server.clear()

    # Then
    assert smtp_server.messages == []


def test_starttls_is_verified_against_the_test_ca(tls_material: TlsMaterial) -> None:
    # Given a server that insists on STARTTLS
    with ScriptedSmtpServer(tls_context=tls_material.server_context, require_starttls=True) as server:
        # When
        send(server, start_tls=True, tls_context=tls_material.client_context())

        # Then
        (received,) = server.messages
        assert received.tls is True


def test_starttls_fails_for_a_client_that_does_not_trust_the_test_ca(
    tls_material: TlsMaterial,
) -> None:
    # Given
    with ScriptedSmtpServer(tls_context=tls_material.server_context) as server:
        # When / Then
        with pytest.raises(ssl.SSLCertVerificationError):
            send(server, start_tls=True, tls_context=ssl.create_default_context())
        assert server.messages == []


def test_require_starttls_refuses_mail_over_plain_text(tls_material: TlsMaterial) -> None:
    # Given
    with ScriptedSmtpServer(tls_context=tls_material.server_context, require_starttls=True) as server:
        # When / Then
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            send(server, start_tls=False)
        assert refused.value.code == 530
        assert server.messages == []


def test_auth_is_offered_only_after_starttls(tls_material: TlsMaterial) -> None:
    # Given
    with ScriptedSmtpServer(tls_context=tls_material.server_context, auth_credentials={"mailer": "s3cret"}) as server:
        # When / Then: before STARTTLS there is no AUTH to use
        with pytest.raises(aiosmtplib.SMTPException, match="(?i)auth"):
            send(server, start_tls=False, username="mailer", password="s3cret")

        # When / Then: after STARTTLS the login works
        send(
            server,
            start_tls=True,
            tls_context=tls_material.client_context(),
            username="mailer",
            password="s3cret",
        )
        (received,) = server.messages
        assert (received.tls, received.auth_login) == (True, "mailer")


def test_wrong_credentials_are_refused(tls_material: TlsMaterial) -> None:
    # Given
    with ScriptedSmtpServer(
        tls_context=tls_material.server_context,
        auth_credentials={"mailer": "s3cret"},
        auth_required=True,
    ) as server:
        # When / Then
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            send(
                server,
                start_tls=True,
                tls_context=tls_material.client_context(),
                username="mailer",
                password="wrong",
            )
        assert refused.value.code == 535
        assert server.messages == []


def test_auth_required_refuses_mail_without_login(tls_material: TlsMaterial) -> None:
    # Given
    with ScriptedSmtpServer(
        tls_context=tls_material.server_context,
        auth_credentials={"mailer": "s3cret"},
        auth_required=True,
    ) as server:
        # When / Then
        with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
            send(server, start_tls=True, tls_context=tls_material.client_context())
        assert refused.value.code == 530


def test_wait_for_messages_times_out_when_too_few_arrive(smtp_server: ScriptedSmtpServer) -> None:
    # Given
    send(smtp_server)

    # When / Then
    assert len(smtp_server.wait_for_messages(1, timeout_s=1)) == 1
    with pytest.raises(TimeoutError):
        smtp_server.wait_for_messages(2, timeout_s=0.05)
