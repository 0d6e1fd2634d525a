"""Where the store keeps what tests look at directly in Redis."""

from __future__ import annotations

from pydantic import TypeAdapter

from worker.domain.model import Order
from worker.store import growing_buckets, netstrings, order_records
from worker.store.keys import Keys
from worker.store.packed_json import pack


def subscription_bucket(keys: Keys, subscription_id: str, level: int = 0) -> str:
    """The bucket that holds a subscription's order ids at `level` (the first one, unless many
    subscriptions came first)."""
    return keys.subscription_order_bucket(growing_buckets.place(growing_buckets.id_number(subscription_id), level))


def order_record_before(order: Order, event_id: str, *state: bytes) -> bytes:
    """`order` as a release before 2026-12-08 kept it: "o1", its body packed with the "o1"
    dictionary; with `state` (field, value, ...), "o2": the body framed, the state as plain
    netstrings after it."""
    fields = [order.account_id, order.subscription_id, event_id, str(len(order.lines))]
    header = b"".join(netstrings.encode(f.encode()) for f in [*fields, *(line.line_id for line in order.lines)])
    body = TypeAdapter(Order).dump_json(order, exclude_defaults=True)
    packed = pack(body, order_records.DICTIONARY + b"o1" + header)
    if not state:
        return b"o1" + header + packed
    return b"o2" + header + netstrings.encode(packed) + b"".join(netstrings.encode(part) for part in state)
