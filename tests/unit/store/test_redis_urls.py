"""What log lines and messages say of a Redis server (worker/store/redis_urls.py): its URL with the
password masked and the rest kept."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from worker.store.keys import Keys
from worker.store.redis_urls import mask_url
from worker.store.store import Store


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis.internal:6379/0", "redis://:***@redis.internal:6379/0"),
        ("rediss://worker:s3cret@redis.internal:6380/2", "rediss://worker:***@redis.internal:6380/2"),
        ("rediss://worker:s3cret@[::1]:6379/0?socket_timeout=1", "rediss://worker:***@[::1]:6379/0?socket_timeout=1"),
        ("redis://:s3/c@ret@redis.internal:6379/0", "redis://:***@redis.internal:6379/0"),
        ("redis://worker@redis.internal/0", "redis://worker@redis.internal/0"),
        ("unix:///run/redis.sock?db=1&password=s3cret", "unix:///run/redis.sock?db=1&password=***"),
    ],
)
def test_the_password_of_a_redis_url_is_masked_and_the_rest_kept(url, shown):
    assert mask_url(url) == shown


def test_a_store_names_its_server_with_the_password_masked():
    # Given a store on a URL with a password (no connection is made)
    store = Store(aioredis.Redis.from_url("redis://:s3cret@redis.internal:6380/2"), Keys("iw"))
    # Then what it says of its server masks the password
    assert store.where == "redis://:***@redis.internal:6380/2"
