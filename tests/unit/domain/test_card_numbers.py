"""Card numbers are redacted from producer-supplied text (DOMAIN.md section 3)."""

from __future__ import annotations

import pytest

from worker.domain.card_numbers import REDACTED_CARD, luhn_valid, redact_card_numbers


@pytest.mark.parametrize(
    "digits",
    ["4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4222222222222"],
)
def test_known_test_card_numbers_pass_luhn(digits):
    assert luhn_valid(digits)


def test_a_number_with_a_wrong_check_digit_fails_luhn():
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    "written",
    ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "3782 822463 10005", "6011-1111 1111-1117"],
)
def test_a_card_number_however_grouped_is_redacted(written):
    # Given a reason quoting a card number
    reason = f"Declined: card {written} expired"
    # When redacted
    redacted = redact_card_numbers(reason)
    # Then no digit of it is left, and the rest of the text is
    assert redacted == f"Declined: card {REDACTED_CARD} expired"


def test_digit_runs_that_are_no_card_number_are_kept():
    # An order number failing Luhn, a short reference, an amount and a date stay readable
    text = "order 4111111111111112, ref 12345678, amount 29040.00, on 2026-02-16"
    assert redact_card_numbers(text) == text


def test_a_run_longer_than_19_digits_is_not_a_card_number():
    text = "trace 41111111111111110000000"
    assert redact_card_numbers(text) == text


def test_two_card_numbers_are_both_redacted():
    text = "tried 4111111111111111 then 5555 5555 5555 4444"
    assert redact_card_numbers(text) == f"tried {REDACTED_CARD} then {REDACTED_CARD}"
