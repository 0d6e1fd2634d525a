"""Commands sent together: what each caller gets back, on a real Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from worker.store.redis_batch import AutoPipeline

INCREMENT = "return redis.call('INCR', KEYS[1])"


class CountingClient(aioredis.Redis):
    """A real client that counts the pipelines it sends (one round trip each)."""

    pipelines_sent = 0

    def pipeline(self, *args, **kwargs):
        pipe = super().pipeline(*args, **kwargs)
        execute = pipe.execute

        async def counted(*a, **k):
            CountingClient.pipelines_sent += 1
            return await execute(*a, **k)

        pipe.execute = counted
        return pipe


def test_commands_issued_in_one_turn_share_one_round_trip_and_each_caller_gets_its_own_reply(redis_url, redis_client):
    # Given a key of each kind, one of them a hash
    redis_client.set("rb:s", "1")
    redis_client.hset("rb:h", mapping={"a": "x"})

    async def scenario():
        client = CountingClient.from_url(redis_url)
        auto = AutoPipeline(client)
        CountingClient.pipelines_sent = 0
        try:
            # When many coroutines send commands at the same time, one of them a wrong one
            return await asyncio.gather(
                auto.command("get", "rb:s"),
                auto.command("hgetall", "rb:h"),
                auto.command("incr", "rb:h"),  # WRONGTYPE: a hash is no counter
                *(auto.command("incr", "rb:n") for _ in range(20)),
                return_exceptions=True,
            ), CountingClient.pipelines_sent
        finally:
            await client.aclose()

    replies, round_trips = asyncio.run(scenario())
    # Then they went in one round trip, each reply reached its caller, and only the wrong one failed
    assert round_trips == 1
    assert replies[0] == b"1" and replies[1] == {b"a": b"x"}
    assert isinstance(replies[2], ResponseError) and "WRONGTYPE" in str(replies[2])
    assert sorted(replies[3:]) == list(range(1, 21))
    assert redis_client.get("rb:n") == b"20"


def test_a_script_the_server_no_longer_knows_is_loaded_and_runs_once(redis_url, redis_client):
    async def scenario():
        client = aioredis.Redis.from_url(redis_url)
        script = client.register_script(INCREMENT)
        try:
            auto = AutoPipeline(client)
            first = await auto.script(script, ["rb:once"], [])
            # Given the server forgot its scripts (a restart or SCRIPT FLUSH)
            await client.script_flush()
            # When the script is sent again, together with a plain command
            second, seen = await asyncio.gather(auto.script(script, ["rb:once"], []), auto.command("get", "rb:once"))
            return first, second, seen
        finally:
            await client.aclose()

    # Then each call ran exactly once
    # Then it was loaded and ran exactly once more; the plain command was not sent twice
    assert asyncio.run(scenario()) == (1, 2, b"1")
    assert redis_client.get("rb:once") == b"2"


def test_when_redis_cannot_be_reached_every_waiting_caller_gets_the_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes

    async def scenario():
        client = aioredis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1)
        auto = AutoPipeline(client)
        try:
            return await asyncio.gather(auto.command("get", "a"), auto.command("set", "b", "1"), return_exceptions=True)
        finally:
            await client.aclose()

    replies = asyncio.run(scenario())
    assert len(replies) == 2 and all(isinstance(r, RedisConnectionError) for r in replies)


@pytest.fixture(autouse=True)
def _clean(redis_client):
    yield
    redis_client.delete("rb:s", "rb:h", "rb:n", "rb:once")
