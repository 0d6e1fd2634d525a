"""JSON kept deflated with a preset dictionary: what the store does to the values only Python
reads back whole (an order's body, an invoice), because most of their bytes are field names
that a dictionary of them turns into a few bits each. Raw deflate (no zlib header or checksum:
6 bytes a value); Redis keeps the bytes intact."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import TypeAdapter

_T = TypeVar("_T")

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


@dataclass(frozen=True)
class JsonRecords(Generic[_T]):
    """The layout of one kind of record: `marker` + its JSON (by `adapter`) packed with
    `dictionary`, and the layouts it took before (`earlier`), still read. A value that starts
    with "{" is JSON stored before records existed, read as it is (unless `json_before` is
    False: no release stored one)."""

    #: What a record holds, and how it is JSON.
    adapter: TypeAdapter[_T]
    #: What a record holds ("invoice"), for the errors.
    what: str
    #: Marks a record written now (JSON starts with "{"). A later layout takes a new marker and
    #: moves this one to `earlier`.
    marker: bytes
    #: Never changes for this marker (a test pins its digest); a better one takes a new marker.
    dictionary: bytes
    #: Raised for a value that is neither JSON nor a record of a known layout.
    unreadable: type[ValueError]
    #: (marker, dictionary) of each layout written before this one, still read.
    earlier: tuple[tuple[bytes, bytes], ...] = ()
    #: Whether a value starting with "{" is JSON of before records (else it is refused).
    json_before: bool = True

    def encode(self, value: _T) -> bytes:
        return self.marker + pack(self.adapter.dump_json(value), self.dictionary)

    def decode(self, raw: bytes) -> _T:
        """The value kept as `raw`: a record of any of its layouts, or JSON written before
        records existed.

        Raises:
          `unreadable`: neither (a corrupted value, or a layout of a later release).
        """
        return self.adapter.validate_json(self.written_json(raw))

    def written_json(self, raw: bytes) -> bytes:
        """The JSON of the value kept as `raw`, as it was written: a record inflated, or JSON of
        before as it is. These bytes never change while the value is kept.

        Raises:
          `unreadable`: as `decode`.
        """
        if self.json_before and raw.startswith(b"{"):
            return raw
        layouts = ((self.marker, self.dictionary), *self.earlier)
        for marker, dictionary in layouts:
            if raw.startswith(marker):
                try:
                    return unpack(raw[len(marker) :], dictionary)
                except PackedUnreadable as exc:
                    raise self.unreadable(f"a stored {self.what} {exc}") from None
        known = " nor ".join(repr(marker) for marker, _ in sorted(layouts))
        json = "JSON nor " if self.json_before else ""
        raise self.unreadable(f"a stored {self.what} starts with {raw[:2]!r}, neither {json}{known}")
