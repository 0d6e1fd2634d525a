"""The embedded redis-server: reachable by URL, durable across restarts, never evicting."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import redis

from worker.dev.embedded_redis import (
    EmbeddedRedisError,
    redis_server_binary,
    start_embedded_redis,
)


def test_redis_server_binary_is_an_executable_file() -> None:
    # When
    binary = redis_server_binary()

    # Then
    assert Path(binary).is_file()
    assert os.access(binary, os.X_OK)


def test_fresh_directory_gives_a_server_that_answers_ping_by_url(tmp_path: Path) -> None:
    # Given a fresh directory
    data_dir = tmp_path / "redis"

    # When
    with start_embedded_redis(data_dir) as server:
        client = redis.Redis.from_url(server.url)
        try:
            # Then
            assert server.url == f"redis://127.0.0.1:{server.port}/0"
            assert client.ping() is True
        finally:
            client.close()

    assert not server.running


def test_keys_survive_restart_thanks_to_the_append_only_file(tmp_path: Path) -> None:
    # Given a server holding a key
    with start_embedded_redis(tmp_path) as server:
        url_before = server.url
        with redis.Redis.from_url(server.url) as client:
            client.set("invoice:42", b"issued")

        # When
        server.restart()

        # Then the same URL serves the same data
        assert server.url == url_before
        with redis.Redis.from_url(server.url) as client:
            assert client.get("invoice:42") == b"issued"
    assert (tmp_path / "appendonly.aof").is_file()


def test_server_is_durable_and_never_evicts(tmp_path: Path) -> None:
    # Given
    with start_embedded_redis(tmp_path) as server, redis.Redis.from_url(server.url) as client:
        # When
        config = {
            name: client.config_get(name)[name]
            for name in ("maxmemory-policy", "appendonly", "appendfsync", "save", "bind")
        }

    # Then
    assert config == {
        "maxmemory-policy": "noeviction",
        "appendonly": "yes",
        "appendfsync": "everysec",
        "save": "",
        "bind": "127.0.0.1",
    }


def test_stop_ends_the_process_and_is_idempotent(tmp_path: Path) -> None:
    # Given
    server = start_embedded_redis(tmp_path)
    port = server.port

    # When
    server.stop()
    server.stop()

    # Then nothing listens on the port any more
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_a_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    # Given a port that something else already listens on
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken_port = squatter.getsockname()[1]

        # When / Then
        with pytest.raises(EmbeddedRedisError, match="(?s)exited with code.*already in use"):
            start_embedded_redis(tmp_path, port=taken_port)
