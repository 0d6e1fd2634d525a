"""Netstrings without their comma (`b"11:WA-00000001"`, the length in bytes): how the store's
records frame the fields that Lua reads (an order's header) or that follow one another (an
invoice's fold)."""

from __future__ import annotations

#: Digits a length may take (and the colon after them): 10^11 bytes is beyond any value in Redis.
_MAX_LENGTH_DIGITS = 11


def encode(data: bytes) -> bytes:
    return b"%d:%b" % (len(data), data)


def read(raw: bytes, pos: int) -> tuple[bytes, int]:
    """The field framed at `pos` in `raw`, and where the next one starts.

    Raises:
      ValueError: no length there ("no length"), or the field runs past the end ("cut short").
    """
    colon = raw.find(b":", pos, pos + _MAX_LENGTH_DIGITS + 1)
    if colon < 0 or not raw[pos:colon].isdigit():
        raise ValueError("no length")
    end = colon + 1 + int(raw[pos:colon])
    if end > len(raw):
        raise ValueError("cut short: a field runs past the end of the record")
    return raw[colon + 1 : end], end
