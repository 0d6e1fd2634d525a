"""JSON Lines as ingest reads it (worker/contract/jsonlines.py): every raw line gives a JSON object
or a reason, never an exception of the decoder. Pure: bytes in memory."""

from __future__ import annotations

import io
import json

import pytest

from worker.contract.jsonlines import (
    LINE_FIELD,
    MAX_LINE_BYTES,
    MAX_NESTING_DEPTH,
    canonical_digest,
    decode_line,
    line_digest,
    nests_deeper_than,
    read_lines,
)
from worker.errors import InvalidEvent


def reason_for(content: bytes) -> str:
    with pytest.raises(InvalidEvent) as caught:
        decode_line(content)
    assert caught.value.field == LINE_FIELD
    return caught.value.reason


def test_a_line_holding_one_object_gives_that_object():
    assert decode_line(b'{"id": "e1", "data": {"n": [1, {"x": "\\u00e9"}]}}') == {
        "id": "e1",
        "data": {"n": [1, {"x": "é"}]},
    }


def test_invalid_utf8_is_refused_naming_the_byte_and_its_offset_in_the_line():
    assert reason_for(b'{"name": "Caf\xe9"}') == "not valid UTF-8: byte 0xe9 at byte offset 13 of the line"


def test_nesting_past_the_limit_is_refused_before_the_decoder_recurses():
    # 10,000 levels made json.loads raise RecursionError; the limit is checked first
    deep = b'{"id": "deep", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    assert reason_for(deep) == f"objects and arrays nest more than {MAX_NESTING_DEPTH} deep"


def test_nesting_at_the_limit_is_accepted_and_brackets_inside_strings_do_not_count():
    at_limit = b"[" * (MAX_NESTING_DEPTH - 1) + b"{}" + b"]" * (MAX_NESTING_DEPTH - 1)
    assert decode_line(b'{"a": ' + at_limit[1:-1] + b"}")
    brackets_in_strings = json.dumps({"s": "[" * 100 + '\\"{' * 50, "t": "{" * 40}).encode()
    assert not nests_deeper_than(brackets_in_strings, MAX_NESTING_DEPTH)
    assert decode_line(brackets_in_strings)["t"] == "{" * 40


def test_a_line_over_the_size_limit_is_refused_by_its_length():
    assert reason_for(b'"' + b"x" * MAX_LINE_BYTES + b'"').startswith(
        f"the line is {MAX_LINE_BYTES + 2} bytes long; at most {MAX_LINE_BYTES}"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json", "not valid JSON: Expecting value at column 1"),
        (b'{"a": 1,}', "not valid JSON: Expecting property name enclosed in double quotes at column 9"),
        (b"[1, 2]", "a line holds one JSON object, not an array"),
        (b'"text"', "a line holds one JSON object, not a string"),
        (b"null", "a line holds one JSON object, not null"),
        (b'{"id": "a", "id": "b"}', "the key 'id' appears twice in one object"),
        (b'{"amount": NaN}', "NaN is not a JSON number"),
        (b'{"amount": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"n": ' + b"9" * 5000 + b"}", "a number has more than 4300 digits"),
        (b'\xef\xbb\xbf{"a": 1}', "a byte order mark (U+FEFF) is accepted only at the start of the file"),
    ],
)
def test_what_is_not_one_plain_json_object_is_refused_with_a_reason(content, reason):
    assert reason_for(content) == reason


def test_an_unpaired_surrogate_escape_is_refused_and_a_pair_is_a_character():
    with pytest.raises(InvalidEvent) as caught:
        decode_line(b'{"id": "e1", "data": {"name": "\\ud800"}}')
    assert caught.value.event_id == "e1" and "unpaired UTF-16 surrogate" in caught.value.reason
    assert decode_line(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_lines_are_numbered_their_endings_removed_and_a_bom_at_the_start_ignored():
    stream = io.BytesIO(b'\xef\xbb\xbf{"a": 1}\r\n\n{"b": 2}\n{"c": 3}')
    lines = list(read_lines(stream))
    assert [(line.number, line.content) for line in lines] == [
        (1, b'{"a": 1}'),
        (2, b""),
        (3, b'{"b": 2}'),
        (4, b'{"c": 3}'),
    ]
    assert lines[1].blank and not lines[0].blank
    assert lines[2].digest == line_digest(b'{"b": 2}')


def test_an_over_size_line_is_not_kept_but_known_by_its_length_and_digest_and_the_next_line_is_read():
    # Given a line of 1,000 bytes (CR LF ended) under a limit of 100, between two short lines
    long_line = b"x" * 999 + b"\r"
    stream = io.BytesIO(b"first\n" + long_line + b"\nlast\n")
    # When read
    first, long, last = read_lines(stream, max_line_bytes=100)
    # Then the long line comes without its content, with its length and digest, line ending excluded
    assert long.content is None and long.size == 999 and long.digest == line_digest(b"x" * 999)
    assert (first.content, last.content, last.number) == (b"first", b"last", 3)


@pytest.mark.parametrize("length", [100, 101, 102])
def test_a_line_at_the_limit_is_kept_and_one_byte_more_is_not(length):
    (line,) = read_lines(io.BytesIO(b"y" * length + b"\r\n"), max_line_bytes=101)
    assert (line.content is not None) == (length <= 101) and line.size == length


def test_the_canonical_digest_ignores_layout_and_key_order_but_not_values():
    assert canonical_digest(json.loads('{"a": 1, "b": [1, 2]}')) == canonical_digest({"b": [1, 2], "a": 1})
    assert canonical_digest({"a": "1"}) != canonical_digest({"a": 1})
