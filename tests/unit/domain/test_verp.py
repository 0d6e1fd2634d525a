"""VERP return paths: at most 64 octets before the @ (RFC 5321) however long the delivery id and
the address, stable per (delivery, recipient), and not forgeable or alterable."""

from __future__ import annotations

import pytest

from worker.domain.verp import (
    MAX_LOCAL_PART_OCTETS,
    InvalidVerpToken,
    ReturnPath,
    VerpTarget,
    encode_legacy_token,
    parse_return_path,
    return_path,
    return_path_token,
    verify_target,
)

SECRET = b"test-secret-0123456789"
LONG_DELIVERY = "bounce_notice:" + "a" * 64 + "@" + "b" * 180 + ".example:" + "c" * 200 + ":1796188543"
LONG_ADDRESS = "x" * 64 + "@" + ".".join(["d" * 63] * 3) + ".example"


@pytest.mark.parametrize(
    ("delivery_id", "recipient"),
    [
        ("invoice:INV-0000001", "els@acme.example"),
        ("card_failed:" + "evt-" * 60, "els@acme.example"),
        (LONG_DELIVERY, LONG_ADDRESS),
        ("invoice:INV-0000001", "zoë@bücher.example"),
    ],
)
def test_every_local_part_fits_in_64_octets_and_reads_back(delivery_id, recipient):
    # Given deliveries and addresses up to the longest the contract allows
    # When their return paths are made
    path = return_path(delivery_id, recipient, secret=SECRET, domain="bounces.example")
    local = path.rpartition("@")[0]
    # Then the local part keeps within RFC 5321's 64 octets, and its token verifies for its target
    assert len(local.encode()) <= MAX_LOCAL_PART_OCTETS
    assert local.startswith("bounces+") and path.endswith("@bounces.example")
    parsed = parse_return_path(path, SECRET)
    assert verify_target(parsed.token, VerpTarget(delivery_id, recipient), SECRET) == VerpTarget(delivery_id, recipient)


def test_the_same_recipient_of_the_same_delivery_always_gets_the_same_return_path():
    # Given one delivery, when its return path for one recipient is made twice (a retry)
    first = return_path("invoice:INV-0000001", "els@acme.example", secret=SECRET, domain="b.example")
    again = return_path("invoice:INV-0000001", "els@acme.example", secret=SECRET, domain="b.example")
    other = return_path("invoice:INV-0000001", "jan@acme.example", secret=SECRET, domain="b.example")
    # Then it is the same, and another recipient's differs
    assert first == again != other


def test_a_relay_that_changes_the_case_of_the_local_part_does_not_break_it():
    path = return_path("invoice:INV-0000001", "els@acme.example", secret=SECRET, domain="b.example")
    token = parse_return_path(path.upper(), SECRET).token
    assert verify_target(token, VerpTarget("invoice:INV-0000001", "els@acme.example"), SECRET)


def test_a_token_made_with_another_secret_does_not_verify():
    # Given a token an attacker made with his own secret for a real delivery and recipient
    forged = return_path_token("invoice:INV-0000001", "els@acme.example", b"attacker")
    # When the listener checks it against what it names
    # Then it is refused
    with pytest.raises(InvalidVerpToken, match="HMAC"):
        verify_target(forged, VerpTarget("invoice:INV-0000001", "els@acme.example"), SECRET)


def test_a_genuine_token_does_not_verify_for_another_recipient_or_delivery():
    # Given a genuine token for els, when it is presented as naming ceo, or another invoice
    token = return_path_token("invoice:INV-0000001", "els@acme.example", SECRET)
    # Then it is refused for both
    with pytest.raises(InvalidVerpToken):
        verify_target(token, VerpTarget("invoice:INV-0000001", "ceo@acme.example"), SECRET)
    with pytest.raises(InvalidVerpToken):
        verify_target(token, VerpTarget("invoice:INV-0000002", "els@acme.example"), SECRET)


def test_an_altered_token_does_not_verify():
    # Given a genuine token with one character changed
    token = return_path_token("invoice:INV-0000001", "els@acme.example", SECRET)
    altered = ("b" if token[0] == "a" else "a") + token[1:]
    # Then it does not verify for what the genuine one names
    with pytest.raises(InvalidVerpToken):
        verify_target(altered, VerpTarget("invoice:INV-0000001", "els@acme.example"), SECRET)


def test_a_token_of_an_earlier_version_is_still_read_and_its_forgery_refused():
    # Given a long token as earlier versions made them (it names its own target)
    legacy = encode_legacy_token("invoice:INV-0000001", "els@acme.example", SECRET)
    # When it comes back in a bounce, it reads back to its target
    assert parse_return_path(f"bounces+{legacy}@b.example", SECRET) == ReturnPath(
        legacy, VerpTarget("invoice:INV-0000001", "els@acme.example")
    )
    # And one whose payload was swapped for another recipient's is refused
    other = encode_legacy_token("invoice:INV-0000001", "ceo@acme.example", b"x").split("-")[0]
    with pytest.raises(InvalidVerpToken):
        parse_return_path(f"bounces+{other}-{legacy.split('-')[1]}@b.example", SECRET)


@pytest.mark.parametrize(
    "address",
    [
        "bounces+@b.example",
        "bounces+abc@b.example",
        "billing@b.example",
        "bounces+!!-!!@b.example",
        "bounces+" + "a" * 23 + "1@b.example",  # base32 has no 1
        "bounces+" + "a" * 25 + "@b.example",
    ],
)
def test_malformed_or_foreign_addresses_are_refused(address):
    with pytest.raises(InvalidVerpToken):
        parse_return_path(address, SECRET)
