"""The suppression list: a suppressed address is not sent to (recorded `suppressed`) until its
entry expires or an operator removes it (`invoice-worker suppression list|add|remove`)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from tests.support.cli import cli_env, invoke, jsonl
from tests.support.contract_events import contract_example, service_activated
from tests.support.harness import Harness, make_settings
from worker.cli.suppression import add_suppression

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
DUNNING = "ar@acme.example"


def test_operators_add_list_and_remove_suppressed_addresses_and_sending_follows(redis_client, redis_url, smtp_server):
    env = cli_env(redis_url, smtp_server.port)
    # Given an operator suppresses the dunning contact (any case)
    added = invoke(["suppression", "add", "AR@acme.example", "--reason", "left the company"], env)
    assert added.returncode == 0, added.stderr
    listed = json.loads(invoke(["suppression", "list", "--json"], env).stdout)
    assert [(e["address"], e["reason"], e["source"]) for e in listed] == [
        ("AR@acme.example", "left the company", "operator")
    ]
    # When an invoice goes out
    invoke(["ingest", "-"], env, stdin=jsonl(contract_example()[:3]))
    assert invoke(["run", "--burst"], env).returncode == 0
    # Then the suppressed address is recorded as such and not sent to; the others are
    (msg,) = smtp_server.messages
    assert DUNNING not in msg.rcpt_tos and len(msg.rcpt_tos) == 2
    rows = json.loads(invoke(["status", "--json"], env).stdout)
    states = {r["address"]: r for r in rows[0]["recipients"]}
    assert states[DUNNING]["state"] == "suppressed" and "left the company" in states[DUNNING]["last_reply"]
    assert "suppressed" in invoke(["status"], env).stdout
    # When it is removed, the next invoice reaches it again
    assert invoke(["suppression", "remove", DUNNING], env).returncode == 0
    assert "no suppressed addresses" in invoke(["suppression", "list"], env).stdout
    assert invoke(["suppression", "remove", DUNNING], env).returncode == 1
    invoke(["ingest", "-"], env, stdin=jsonl([contract_example()[3]]))
    assert invoke(["run", "--burst"], env).returncode == 0
    assert DUNNING in smtp_server.messages[-1].rcpt_tos


def test_suppression_add_refuses_an_address_with_a_line_break(redis_client, redis_url, smtp_server):
    result = invoke(["suppression", "add", "a@b.example\r\nx"], cli_env(redis_url, smtp_server.port))
    assert result.returncode == 2 and "line break" in result.stderr


def test_a_suppression_expires_after_its_period(redis_client, redis_url, smtp_server):
    settings = make_settings(redis_url, smtp_server.port, suppression_ttl_s=86400.0)
    harness = Harness.build(settings, NOW)
    asyncio.run(add_suppression(settings, DUNNING, reason="bounced", now=NOW))
    harness.clock.now = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)
    harness.ingest(contract_example()[:3])
    harness.drain()
    assert DUNNING not in smtp_server.messages[0].rcpt_tos
    # a day later the entry has expired: the next invoice is sent to the address again
    harness.clock.advance(days=1)
    harness.ingest([service_activated("O-1", "L2", "2026-11-22T12:00:00Z")])
    harness.drain()
    assert DUNNING in smtp_server.messages[-1].rcpt_tos
    assert harness.recipient_states()["INV-0000002"][DUNNING] == "accepted"
