"""Redis faults as an operator meets them, through the `invoice-worker` command in its own process:
an unreachable Redis in every command, an evicting one refused by the commands that write, and
an ingest stopped by a full or a stopped Redis, resumed from the line it names."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import redis

from tests.support.cli import CLI, cli_env, invoke, jsonl
from tests.support.contract_events import account_updated, line, order_booked, service_activated
from worker.dev.embedded_redis import find_free_port, start_embedded_redis

BOUNCE_SECRET = "b" * 43


@pytest.fixture
def own_redis(tmp_path: Path):
    """A redis-server of this test's own, to fill, reconfigure or stop."""
    server = start_embedded_redis(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


def queued_event_ids(url: str) -> list[str]:
    """The ids of the events in the `events` queue's messages, one per event in each message."""
    client = redis.Redis.from_url(url)
    try:
        messages = client.hgetall("iw:dramatiq:events.msgs").values()
    finally:
        client.close()
    return [event["id"] for m in messages for event in json.loads(m)["args"][0]]


def events_file(tmp_path: Path, orders: int) -> tuple[Path, list[str]]:
    events = [account_updated(event_id="acc")]
    for n in range(orders):
        events.append(order_booked(f"O-{n}", lines=[line("L1", "Compute")], event_id=f"o{n}"))
        events.append(service_activated(f"O-{n}", "L1", "2026-01-01T09:00:00Z", event_id=f"a{n}"))
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl(events))
    return path, [e["id"] for e in events]


STOPPED = re.compile(
    r"^invoice-worker: ingest stopped: (?P<why>.*); (?P<n>\d+) event\(s\) went in, every line before line "
    r"(?P<line>\d+) is in; to go on: invoice-worker ingest --from-line (?P=line) (?P<file>\S+)$"
)


@pytest.mark.parametrize(
    "command",
    [
        ["ingest", "-"],
        ["status"],
        ["status", "--invoice", "INV-0000001"],
        ["dead-letters"],
        ["skipped"],
        ["suppression", "list"],
        ["suppression", "add", "a@b.example"],
        ["suppression", "remove", "a@b.example"],
        ["bounces"],
    ],
)
def test_with_redis_unreachable_every_command_says_so_in_one_line_with_the_password_masked(command):
    # Given a Redis URL with a password, where nothing listens
    port = find_free_port()
    env = cli_env(f"redis://:s3cret@127.0.0.1:{port}/0", find_free_port(), BOUNCE_SECRET=BOUNCE_SECRET)
    env["BOUNCES_PORT"] = str(find_free_port())
    # When the command runs
    result = invoke(command, env, stdin=jsonl([account_updated()]), timeout=60)
    # Then it exits 3 with one line naming the server, the password masked, and no traceback
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        f"invoice-worker: Redis at redis://:***@127.0.0.1:{port}/0 is unreachable: "
        + result.stderr.split(" is unreachable: ", 1)[1].rstrip("\n")
    ]
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "command", [["ingest", "-"], ["suppression", "add", "a@b.example"], ["suppression", "remove", "a@b.example"]]
)
def test_a_command_that_writes_refuses_an_evicting_redis_and_writes_nothing(own_redis, command):
    # Given a Redis that may evict keys
    client = redis.Redis.from_url(own_redis.url)
    client.config_set("maxmemory-policy", "allkeys-lru")
    env = cli_env(own_redis.url, find_free_port())
    # When a command that writes runs against it
    result = invoke(command, env, stdin=jsonl([account_updated()]))
    # Then it refuses, naming the policy, and nothing is written
    assert result.returncode == 2
    assert "maxmemory-policy is 'allkeys-lru'" in result.stderr and "noeviction" in result.stderr
    assert client.dbsize() == 0
    client.close()


def test_the_bounces_command_refuses_an_evicting_redis(own_redis):
    redis.Redis.from_url(own_redis.url).config_set("maxmemory-policy", "volatile-lru")
    env = cli_env(own_redis.url, find_free_port(), BOUNCE_SECRET=BOUNCE_SECRET, BOUNCES_PORT=str(find_free_port()))
    result = invoke(["bounces"], env, timeout=30)
    assert result.returncode == 2 and "maxmemory-policy is 'volatile-lru'" in result.stderr


def test_ingest_into_a_full_redis_stops_says_what_went_in_and_a_resumed_ingest_puts_in_exactly_the_rest(
    own_redis, tmp_path
):
    # Given 1,201 events and a Redis (noeviction) with room for a few hundred of them (300 KB:
    # the first chunk of 50 must fit beside the clients' buffers, which Redis counts too)
    path, ids = events_file(tmp_path, 600)
    client = redis.Redis.from_url(own_redis.url)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used + 300_000)
    env = cli_env(own_redis.url, find_free_port())
    # When ingest runs
    result = invoke(["ingest", str(path)], env)
    # Then it stops with exit 3, saying how many went in and from which line to go on
    assert result.returncode == 3, result.stderr
    stopped = STOPPED.match(result.stderr.splitlines()[-1])
    assert stopped, result.stderr
    went_in, resume = int(stopped["n"]), int(stopped["line"])
    assert "is full (maxmemory reached; noeviction refuses writes)" in stopped["why"]
    assert 0 < went_in < len(ids) and result.stdout.strip() == f"accepted {went_in}, rejected 0"
    # Every line before the resume line is in the queue, whole chunks of 50, none after
    assert resume == went_in + 1 and went_in % 50 == 0
    assert sorted(queued_event_ids(own_redis.url)) == sorted(ids[:went_in])
    assert "Traceback" not in result.stderr
    # When Redis has room again and ingest goes on from that line
    client.config_set("maxmemory", 0)
    again = invoke(["ingest", "--from-line", str(resume), str(path)], env)
    # Then exactly the rest goes in: every event queued once
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"accepted {len(ids) - went_in}, rejected 0"
    assert Counter(queued_event_ids(own_redis.url)) == Counter(ids)
    client.close()


def test_ingest_whose_redis_stops_midway_says_what_went_in_and_a_resumed_ingest_puts_in_exactly_the_rest(
    own_redis, tmp_path
):
    # Given a file of 201 events fed to ingest through a pipe
    path, ids = events_file(tmp_path, 100)
    lines = path.read_bytes().splitlines(keepends=True)
    env = cli_env(own_redis.url, find_free_port())
    ingest = subprocess.Popen(
        CLI + ["ingest", "-"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert ingest.stdin is not None
        # When the first 120 lines are read, two chunks of 50 sent, and then Redis stops
        ingest.stdin.write(b"".join(lines[:120]))
        ingest.stdin.flush()
        _wait_until(lambda: len(queued_event_ids(own_redis.url)) == 100)
        own_redis.stop()
        out, err = ingest.communicate(b"".join(lines[120:]), timeout=60)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    # Then ingest exits 3: 100 events went in, every line before line 101 is in
    assert ingest.returncode == 3, err
    stopped = STOPPED.match(err.decode().splitlines()[-1])
    assert stopped, err
    assert (stopped["n"], stopped["line"], stopped["file"]) == ("100", "101", "-")
    assert "is unreachable" in stopped["why"] and out.decode().strip() == "accepted 100, rejected 0"
    # When Redis is back (its AOF kept what it acknowledged) and ingest goes on from line 101
    own_redis.start()
    again = invoke(["ingest", "--from-line", "101", str(path)], env)
    # Then exactly the rest goes in
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"accepted {len(ids) - 100}, rejected 0"
    assert Counter(queued_event_ids(own_redis.url)) == Counter(ids)


def _wait_until(predicate, timeout_s: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)
