"""Message-IDs: unique per installation and delivery, stable for one delivery, short enough for one
header line, and telling nothing of the invoice number."""

from __future__ import annotations

from worker.emails.mime import MAX_HEADER_LINE
from worker.services.messages import MESSAGE_ID_MIN_DIGEST_CHARS, make_message_id

MAIL_FROM = "Invoice Worker Cloud <billing@invoice-worker.example>"
CREATED = 1795262400.0


def mid(
    delivery_id="invoice:INV-0000001", *, installation="a" * 32, secret=None, created_at=CREATED, mail_from=MAIL_FROM
):
    return make_message_id(
        delivery_id, created_at=created_at, installation_id=installation, secret=secret, mail_from=mail_from
    )


def test_the_same_delivery_of_one_installation_always_gets_the_same_message_id():
    # Given one delivery, when its Message-ID is made twice (a retry, a rebuilt message)
    # Then it is the same, at MAIL_FROM's domain
    assert mid() == mid()
    assert mid().endswith("@invoice-worker.example>")


def test_two_installations_give_the_same_invoice_number_different_message_ids():
    # Given the same invoice number created at the same instant in two installations
    # (or in one before and after a Redis reset: a new installation id)
    first, second = mid(installation="a" * 32), mid(installation="b" * 32)
    # Then their Message-IDs differ, with or without MESSAGE_ID_SECRET
    assert first != second
    assert mid(installation="a" * 32, secret=b"s") != mid(installation="b" * 32, secret=b"s")


def test_the_secret_and_the_creation_time_each_change_the_message_id():
    assert mid(secret=b"one") != mid(secret=b"two") != mid()
    assert mid(created_at=CREATED + 1) != mid()


def test_a_message_id_does_not_tell_the_invoice_number():
    assert "INV" not in mid() and "0000001" not in mid()


def test_the_message_id_header_line_fits_78_octets_and_shrinks_for_long_domains():
    # Given a short and a long MAIL_FROM domain
    short = mid()
    long_domain = "billing.subsidiary-with-a-long-name.invoice-worker.example"
    long = mid(mail_from=f"Billing <billing@{long_domain}>")
    # Then the header line fits in 78 octets while the domain allows, keeping 80 bits at least
    assert len(f"Message-ID: {short}") <= MAX_HEADER_LINE
    assert len(long.split("@")[0]) - 1 >= MESSAGE_ID_MIN_DIGEST_CHARS
    assert len(long) < len(long_domain) + 30


def test_an_idn_domain_is_written_in_punycode():
    assert mid(mail_from="Rechnung <rechnung@bücher.example>").endswith("@xn--bcher-kva.example>")
