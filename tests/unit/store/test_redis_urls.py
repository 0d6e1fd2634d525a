"""What log lines say of a Redis server: its URL with any user and password masked."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from worker.store.connection import masked_url
from worker.store.keys import Keys
from worker.store.store import Store


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis.internal:6380/2", "redis://***@redis.internal:6380/2"),
        ("rediss://worker:s3cret@[::1]:6379/0?socket_timeout=1", "rediss://***@[::1]:6379/0"),
    ],
)
def test_a_redis_url_in_a_log_line_never_shows_the_password(url, said):
    assert masked_url(url) == said
    assert "s3cret" not in masked_url(url)


def test_a_store_names_its_server_with_the_password_masked():
    # Given a store on a URL with a password (no connection is made)
    store = Store(aioredis.Redis.from_url("redis://:s3cret@redis.internal:6380/2"), Keys("iw"))
    # Then what it says of its server masks the password
    assert store.where == "redis://***@redis.internal:6380/2"
