"""Which errors are retried for as long as it takes (a server away) and which are unforeseen
(tried a bounded number of times, then dead-lettered), and how a dead letter names the error."""

from __future__ import annotations

import decimal

import pytest
import redis.exceptions
from aiosmtplib import SMTPServerDisconnected

from worker.errors import PrerequisiteMissing
from worker.services.failures import MESSAGE_MAX_CHARS, describe, is_transient


@pytest.mark.parametrize(
    "error",
    [
        redis.exceptions.ConnectionError("Connection refused"),
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.OutOfMemoryError("OOM command not allowed when used memory > 'maxmemory'"),
        redis.exceptions.ReadOnlyError("You can't write against a read only replica"),
        SMTPServerDisconnected("Connection lost"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        PrerequisiteMissing("event e-1 waits for account A-1"),
    ],
    ids=type,
)
def test_a_server_away_is_transient_and_retried_for_as_long_as_it_takes(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        decimal.InvalidOperation([decimal.InvalidOperation]),
        KeyError("lines"),
        ZeroDivisionError("division by zero"),
        redis.exceptions.ResponseError("ERR Error running script: attempt to compare nil with number"),
    ],
    ids=type,
)
def test_a_bug_or_an_input_nobody_thought_of_is_unforeseen(error: Exception) -> None:
    assert not is_transient(error)


def test_the_description_names_the_class_the_message_and_where_it_was_raised_without_a_card_number() -> None:
    def parse_amount() -> None:
        raise ValueError("cannot read 4111 1111 1111 1111 as an amount")

    try:
        parse_amount()
    except ValueError as exc:
        text = describe(exc)
    assert text.startswith("ValueError: cannot read ")
    assert "4111 1111 1111 1111" not in text
    assert text.endswith("in parse_amount)") and "test_failures.py:" in text


def test_a_line_break_in_the_message_cannot_start_a_line_of_its_own() -> None:
    assert describe(ValueError("O-1\r\nERROR forged")) == "ValueError: O-1\\r\\nERROR forged"


def test_a_long_message_is_cut() -> None:
    text = describe(RuntimeError("x" * 10_000))
    assert len(text) < MESSAGE_MAX_CHARS + 50 and text.endswith("...")
