"""JSON kept deflated with a preset dictionary: what the store does to the values only Python
reads back whole (an order's body, an invoice), because most of their bytes are field names
that a dictionary of them turns into a few bits each. Raw deflate (no zlib header or checksum:
6 bytes a value); Redis keeps the bytes intact."""

from __future__ import annotations

import zlib

_LEVEL = 9
_WBITS = -15
_MEMORY_LEVEL = 9


class PackedUnreadable(ValueError):
    """A packed value does not inflate (corrupted, cut short, or packed with another dictionary)."""


def pack(body: bytes, dictionary: bytes) -> bytes:
    """`body` deflated with `dictionary` (the likeliest strings at its end: deflate looks back)."""
    packer = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEMORY_LEVEL, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return packer.compress(body) + packer.flush()


def unpack(packed: bytes, dictionary: bytes) -> bytes:
    """What `pack(body, dictionary)` was given.

    Raises:
      PackedUnreadable: `packed` does not inflate to its end with `dictionary`.
    """
    unpacker = zlib.decompressobj(_WBITS, dictionary)
    try:
        body = unpacker.decompress(packed) + unpacker.flush()
    except zlib.error as exc:
        raise PackedUnreadable(f"does not inflate: {exc}") from None
    if not unpacker.eof:
        raise PackedUnreadable("does not inflate: it is cut short")
    return body
