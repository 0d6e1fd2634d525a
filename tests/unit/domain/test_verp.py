"""VERP return paths: they name delivery and recipient, and cannot be forged or altered."""

from __future__ import annotations

import pytest

from worker.domain.verp import InvalidVerpToken, VerpTarget, decode_token, encode_token, parse_return_path, return_path

SECRET = b"test-secret-0123456789"


def test_a_return_path_names_the_delivery_and_recipient_and_reads_back():
    path = return_path("invoice:INV-0000001", "Els@acme.example", secret=SECRET, domain="bounces.example")
    assert path.startswith("bounces+") and path.endswith("@bounces.example")
    assert parse_return_path(path, SECRET) == VerpTarget("invoice:INV-0000001", "Els@acme.example")


def test_a_relay_that_changes_the_case_of_the_local_part_does_not_break_it():
    path = return_path("invoice:INV-0000001", "els@acme.example", secret=SECRET, domain="b.example")
    assert parse_return_path(path.upper(), SECRET).recipient == "els@acme.example"


def test_a_token_signed_with_another_secret_is_refused():
    token = encode_token("invoice:INV-0000001", "els@acme.example", b"attacker")
    with pytest.raises(InvalidVerpToken, match="HMAC"):
        decode_token(token, SECRET)


def test_an_altered_token_naming_another_recipient_is_refused():
    # Given a genuine token, when an attacker swaps the payload for another recipient's
    genuine = encode_token("invoice:INV-0000001", "els@acme.example", SECRET)
    forged_payload = encode_token("invoice:INV-0000001", "ceo@acme.example", b"x").split("-")[0]
    forged = forged_payload + "-" + genuine.split("-")[1]
    with pytest.raises(InvalidVerpToken):
        decode_token(forged, SECRET)


@pytest.mark.parametrize(
    "address", ["bounces+@b.example", "bounces+abc@b.example", "billing@b.example", "bounces+!!-!!@b.example"]
)
def test_malformed_or_foreign_addresses_are_refused(address):
    with pytest.raises(InvalidVerpToken):
        parse_return_path(address, SECRET)
