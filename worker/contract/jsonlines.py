"""JSON Lines as the worker reads it: a file split into raw lines (bytes), and one raw line decoded
into a JSON object, or refused with a reason that says what is wrong and where.

Nothing a producer can send makes the decoding crash: the limits below are checked before
`json.loads` runs (a deep nesting would otherwise raise RecursionError, a giant line would be
held in memory twice), and every other failure of the decoder becomes a reason.

- A line is at most `MAX_LINE_BYTES` (1 MiB, its line ending not counted); a longer one is
  refused without being kept in memory (`read_lines` skips the rest of it as it reads).
- A line is UTF-8; invalid bytes are refused naming their offset in the line (from 0).
- A UTF-8 byte order mark at the start of the file is ignored (one elsewhere is an error).
- Objects and arrays nest at most `MAX_NESTING_DEPTH` (32) deep; an event needs 5.
- A line holds one JSON object, with no key twice in any object, no `NaN`/`Infinity`, no
  number of more digits than Python converts (4300), and no unpaired UTF-16 surrogate escape
  (`"\\ud800"`): each would mean different things to different decoders, or fail later in Redis.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NoReturn

from worker.errors import InvalidEvent

#: Longest line accepted, in bytes, not counting its line ending (1 MiB).
MAX_LINE_BYTES = 1 << 20
#: Deepest nesting of objects and arrays accepted in a line (an event needs 5).
MAX_NESTING_DEPTH = 32
#: The UTF-8 byte order mark some editors put at the start of a file.
UTF8_BOM = b"\xef\xbb\xbf"
#: What the rest of an over-size line is read in (bytes), so that it is never held whole.
_SKIP_CHUNK_BYTES = 64 * 1024
#: The field a line-level fault is reported on (no event could be read from the line).
LINE_FIELD = "(json)"

_STRUCTURE = re.compile(rb'[\[\]{}"\\]')
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class RawLine:
    """One line of a JSON Lines file, as read."""

    #: Its number in the file, from 1.
    number: int
    #: Its bytes without the line ending; None when it was longer than the limit (not kept).
    content: bytes | None
    #: Its length in bytes, without the line ending.
    size: int
    #: SHA-256 (hex) of its bytes without the line ending: what the line is known by.
    digest: str

    @property
    def blank(self) -> bool:
        return self.content is not None and not self.content.strip()


def line_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def canonical_digest(value: Any) -> str:
    """SHA-256 (hex) of a JSON value in one canonical form (keys sorted, no spaces): equal for
    equal values however their text was laid out, as an event's `data` is compared."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_lines(stream: BinaryIO, *, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[RawLine]:
    """The lines of a binary stream, numbered from 1, each line ending (LF or CR LF) removed.

    A line longer than `max_line_bytes` comes with `content` None: the rest of it is read in
    small pieces, hashed and dropped, so memory holds at most `max_line_bytes` of one line.
    """
    number = 0
    while True:
        head = stream.readline(max_line_bytes + 2)  # room for the line's own CR LF
        if not head:
            return
        number += 1
        if number == 1 and head.startswith(UTF8_BOM):
            head = head[len(UTF8_BOM) :]
        ended = head.endswith(b"\n")
        body = _without_line_ending(head) if ended else head
        # Short of the limit without a line ending, `head` is the file's last line.
        if len(body) <= max_line_bytes:
            yield RawLine(number, body, len(body), line_digest(body))
            continue
        yield _skip_rest_of_long_line(stream, number, head)


def _without_line_ending(line: bytes) -> bytes:
    line = line[:-1]
    return line[:-1] if line.endswith(b"\r") else line


def _skip_rest_of_long_line(stream: BinaryIO, number: int, head: bytes) -> RawLine:
    hasher = hashlib.sha256()
    size = 0
    piece = head
    pending_cr = b""
    while True:
        # A CR at the end of a piece may be the first half of the line's CR LF: held back.
        piece, pending_cr = pending_cr + piece, b""
        ended = piece.endswith(b"\n")
        data = _without_line_ending(piece) if ended else piece
        if not ended and data.endswith(b"\r"):
            data, pending_cr = data[:-1], b"\r"
        hasher.update(data)
        size += len(data)
        if ended:
            break
        piece = stream.readline(_SKIP_CHUNK_BYTES)
        if not piece:
            hasher.update(pending_cr)
            size += len(pending_cr)
            break
    return RawLine(number, None, size, hasher.hexdigest())


def decode_line(content: bytes) -> dict[str, Any]:
    """One raw line (without its line ending) as the JSON object it holds.

    Raises:
      InvalidEvent: the line is not one JSON object within the limits (field "(json)", the
        reason names what is wrong and where: a byte offset, a column, the depth found).
    """
    if len(content) > MAX_LINE_BYTES:
        _refuse(f"the line is {len(content)} bytes long; at most {MAX_LINE_BYTES} are accepted")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(f"not valid UTF-8: byte {content[exc.start]:#04x} at byte offset {exc.start} of the line")
    if text.startswith("\ufeff"):
        _refuse("a byte order mark (U+FEFF) is accepted only at the start of the file")
    if nests_deeper_than(content, MAX_NESTING_DEPTH):
        _refuse(f"objects and arrays nest more than {MAX_NESTING_DEPTH} deep")
    try:
        value = json.loads(text, object_pairs_hook=_object_without_repeated_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        _refuse(f"not valid JSON: {exc.msg} at column {exc.colno}")
    except _Refused as exc:
        _refuse(str(exc))
    except ValueError:  # the one other failure: an integer of more digits than Python converts
        _refuse(f"a number has more than {sys.get_int_max_str_digits()} digits")
    if not isinstance(value, dict):
        _refuse(f"a line holds one JSON object, not {_json_kind(value)}")
    raw_id = value.get("id")
    event_id = raw_id if isinstance(raw_id, str) else None
    if _SURROGATE_ESCAPE.search(content) and _has_lone_surrogate(value):
        raise InvalidEvent(event_id, LINE_FIELD, "an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)")
    return value


def nests_deeper_than(content: bytes, limit: int) -> bool:
    """Whether objects and arrays nest more than `limit` deep in `content` (brackets inside
    strings not counted). Linear in the line's length, and free for a line with few brackets.

    Where `content` is not valid JSON this agrees with `json.loads` up to the first error, which
    is as far as the decoder goes: it never recurses deeper than this found.
    """
    if content.count(b"[") + content.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_until = -1
    # Only the bytes that open or close a string, an object or an array, and escapes, matter.
    for match in _STRUCTURE.finditer(content):
        at = match.start()
        if at < escaped_until:
            continue
        char = content[at]
        if in_string:
            if char == 0x5C:  # a backslash: the next byte is escaped
                escaped_until = at + 2
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


class _Refused(ValueError):
    pass


def _refuse(reason: str) -> NoReturn:
    raise InvalidEvent(None, LINE_FIELD, reason) from None


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {key[:80]!r} appears twice in one object")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
