"""Hashes whose buckets grow with what they hold (`scripts/lib/growing_buckets.lua`): what the
scripts are told, and where an entry's bucket is.

Level L has `BASE` * 2^L buckets; an entry goes to its bucket at the current level, which goes
up once a bucket holds `FULL` fields. So a few thousand entries share a few dozen compact hashes
(~24 B an entry of a short field and value), where a fixed 4,096 would cost ~100 B of a key
each, mostly near empty; and at ten million entries every bucket is still a compact hash (up to
Redis's 128 fields).
"""

from __future__ import annotations

import hashlib

#: Buckets at the first level.
BASE = 64
#: Fields of a bucket that move the level up: Redis keeps a hash of up to 128 fields (the
#: default `hash-max-listpack-entries`) as a compact listpack, ~70 B a field more beyond.
FULL = 128
#: The longest field or value an entry may have (bytes): Redis's default
#: `hash-max-listpack-value`, beyond which the whole bucket would lose its compact encoding.
COMPACT_VALUE_BYTES = 64
#: The highest level (262,144 buckets): ~40 million entries, ~85 a bucket, before its buckets
#: grow past `FULL`.
TOP_LEVEL = 12


def place(number: int, level: int) -> str:
    """The "<level>:<bucket>" of the entry numbered `number` at `level`, as the scripts name it."""
    return f"{level}:{number % (BASE << level)}"


def id_number(entry_id: str) -> int:
    """What an id is bucketed by: the first 32 bits of its SHA-1, as the scripts' `growing_number`
    computes it."""
    return int(hashlib.sha1(entry_id.encode(), usedforsecurity=False).hexdigest()[:8], 16)


def script_args() -> list[int]:
    """BASE, FULL and TOP_LEVEL, in the order the scripts take them."""
    return [BASE, FULL, TOP_LEVEL]
