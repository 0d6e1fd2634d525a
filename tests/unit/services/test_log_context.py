"""What logs say of a recipient: its domain, and SMTP replies with the addresses' local parts
masked, so that a log pipeline never keeps a customer's address."""

from __future__ import annotations

from worker.services.log_context import mask_addresses, recipient_domain


def test_a_recipient_is_logged_by_its_domain() -> None:
    assert recipient_domain("Els.de.Vries@Acme.Example") == "acme.example"


def test_addresses_in_a_reply_lose_their_local_part() -> None:
    assert mask_addresses("550 5.1.1 <jan@acme.example>: Recipient address rejected") == (
        "550 5.1.1 <*@acme.example>: Recipient address rejected"
    )
    assert mask_addresses("mail for j.o'neil+billing@sub.acme.example, ar@acme.example") == (
        "mail for *@sub.acme.example, *@acme.example"
    )


def test_a_reply_without_an_address_is_unchanged() -> None:
    assert mask_addresses("250 2.0.0 Ok: queued as 4F2A1") == "250 2.0.0 Ok: queued as 4F2A1"
    assert mask_addresses("421 try again @ 10:00") == "421 try again @ 10:00"
