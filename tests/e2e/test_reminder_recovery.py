"""A worker killed with SIGKILL while a payment reminder is in flight: the restarted worker sends
it again at most once, with the same Message-ID, and the step is never sent as a second reminder."""

from __future__ import annotations

import json
from collections import Counter

from tests.support.cli import cli_env, invoke, jsonl, sigkill_worker_when
from tests.support.contract_events import contract_example


def test_a_reminder_in_flight_when_the_worker_is_killed_is_one_reminder_after_the_restart(
    redis_client, redis_url, smtp_server
):
    # Given an invoice issued now whose first reminder step (40 days before its due date) is
    # already due, and a relay that holds each DATA reply far longer than the test
    env = cli_env(redis_url, smtp_server.port, SMTP_TIMEOUT_S="120", REMINDER_DAYS="-40")
    assert invoke(["ingest", "-"], env, stdin=jsonl(contract_example()[:3])).returncode == 0
    smtp_server.stall_stage, smtp_server.stall_s = "data", 300.0

    # When a worker is killed while the invoice and its reminder are both in flight
    def in_flight() -> bool:
        states = [v for k in redis_client.keys(b"iw:delivery:*:rcpt") for v in redis_client.hvals(k)]
        return len(states) == 4 and all(b'"sending"' in v for v in states)

    sigkill_worker_when(env, in_flight)
    smtp_server.stall_s = 0.0
    result = invoke(["run", "--burst"], env, timeout=180)
    assert result.returncode == 0, result.stderr

    # Then there is one reminder delivery, its message sent at most twice with one Message-ID
    rows = json.loads(invoke(["status", "--invoice", "INV-0000001", "--json"], env).stdout)
    reminders = [row for row in rows if row["kind"] == "payment_reminder"]
    assert [row["delivery"] for row in reminders] == ["payment_reminder:INV-0000001:-40"]
    sent = Counter(str(m.message["Message-ID"]) for m in smtp_server.messages if "INV-0000001" in m.message["Subject"])
    reminder_ids = {str(m.message["Message-ID"]) for m in smtp_server.messages if m.message["Cc"] is None}
    assert len(reminder_ids) == 1 and sent[next(iter(reminder_ids))] <= 2
    assert {r["state"] for row in rows for r in row["recipients"]} == {"accepted"}
