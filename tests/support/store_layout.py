"""Where the store keeps what tests look at directly in Redis."""

from __future__ import annotations

from worker.store import growing_buckets
from worker.store.keys import Keys


def subscription_bucket(keys: Keys, subscription_id: str, level: int = 0) -> str:
    """The bucket that holds a subscription's order ids at `level` (the first one, unless many
    subscriptions came first)."""
    return keys.subscription_order_bucket(growing_buckets.place(growing_buckets.id_number(subscription_id), level))
