"""The command line as operators use it: separate processes against a real Redis and SMTP server."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.support.cli import CLI, cli_env, invoke, jsonl, sigkill_worker_when
from tests.support.contract_events import contract_example


@pytest.fixture
def env(redis_client, redis_url, smtp_server):
    return cli_env(redis_url, smtp_server.port)


def test_ingest_reports_accepted_and_rejected_lines_with_line_numbers_and_exits_1(env, tmp_path):
    bad = dict(contract_example()[1], id="bad-7")
    bad["data"] = dict(bad["data"], currency="EURO")
    path = tmp_path / "events.jsonl"
    path.write_text(jsonl([contract_example()[0], bad, "not json", contract_example()[2]]))
    result = invoke(["ingest", str(path)], env)
    assert result.returncode == 1
    assert "accepted 2, rejected 2" in result.stdout
    assert "line 2: event bad-7: data.currency" in result.stderr
    assert "line 3: event ?: (json)" in result.stderr


def test_ingest_from_stdin_then_run_burst_then_status_shows_each_recipient(env, smtp_server):
    assert invoke(["ingest", "-"], env, stdin=jsonl(contract_example())).returncode == 0
    run = invoke(["run", "--burst"], env)
    assert run.returncode == 0, run.stderr
    assert len(smtp_server.messages) == 2
    status = invoke(["status", "--json"], env)
    rows = json.loads(status.stdout)
    assert [r["key"] for r in rows] == ["INV-0000001", "INV-0000002"]
    assert {r["address"]: r["state"] for r in rows[0]["recipients"]} == {
        "els@acme.example": "accepted",
        "ar@acme.example": "accepted",
        "jan@acme.example": "accepted",
    }
    assert rows[0]["recipients"][0]["last_reply"].startswith("250")
    one = invoke(["status", "--invoice", "INV-0000002"], env)
    assert "INV-0000002" in one.stdout and "INV-0000001" not in one.stdout
    assert "els@acme.example" in one.stdout and "accepted" in one.stdout


def test_status_of_an_unknown_invoice_says_so(env):
    result = invoke(["status", "--invoice", "INV-404"], env)
    assert result.returncode == 1 and "no invoice INV-404" in result.stderr


def _states(redis_client) -> list[bytes]:
    return [v for k in redis_client.keys(b"iw:delivery:*:rcpt") for v in redis_client.hvals(k)]


@pytest.mark.parametrize("kill_point", ["smtp_stalled_at_rcpt", "smtp_down_with_retries_pending"])
def test_worker_killed_mid_run_and_restarted_delivers_every_invoice_exactly_once(
    redis_client, redis_url, smtp_server, kill_point
):
    env = cli_env(
        redis_url,
        smtp_server.port,
        DUE_LEASE_S="2",
        BROKER_HEARTBEAT_TIMEOUT_MS="1000",
        SMTP_TIMEOUT_S="30",
        RETRY_FIRST_S="0.5",
        RETRY_MAX_S="1",
    )
    assert invoke(["ingest", "-"], env, stdin=jsonl(contract_example())).returncode == 0
    # Given a worker caught in the middle of its work
    if kill_point == "smtp_stalled_at_rcpt":
        smtp_server.stall_stage, smtp_server.stall_s = "rcpt", 30.0
        caught = lambda: any(b'"sending"' in v for v in _states(redis_client))  # noqa: E731
    else:
        smtp_server.down()
        caught = lambda: any(b'"deferred"' in v for v in _states(redis_client))  # noqa: E731
    # When it is killed without a chance to clean up
    sigkill_worker_when(env, caught, timeout_s=20)
    smtp_server.stall_s = 0.0
    if kill_point == "smtp_down_with_retries_pending":
        smtp_server.up()
    # And a new worker drains what is left
    result = invoke(["run", "--burst"], env, timeout=90)
    assert result.returncode == 0, result.stderr
    # Then every invoice was delivered, each exactly once
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 2 and len(set(ids)) == 2
    rows = json.loads(invoke(["status", "--json"], env).stdout)
    assert all(r["state"] == "accepted" for row in rows for r in row["recipients"])


def test_three_workers_at_once_invoice_every_window_once_with_gapless_numbers(env, smtp_server):
    # Given 20 orders whose windows are all closed, some events repeated
    from tests.support.contract_events import account_updated, line, order_booked, service_activated

    events = [account_updated()]
    for n in range(20):
        events.append(order_booked(f"O-{n}", lines=[line("L1", "Compute"), line("L2", "Storage")]))
        events.append(service_activated(f"O-{n}", "L1", "2026-01-01T09:00:00Z", event_id=f"a{n}"))
        events.append(service_activated(f"O-{n}", "L2", "2026-01-02T09:00:00Z", event_id=f"b{n}"))
    assert invoke(["ingest", "-"], env, stdin=jsonl(events + events[:15])).returncode == 0
    # When three workers drain the queues at the same time
    workers = [subprocess.Popen(CLI + ["run", "--burst"], env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for w in workers:
        _, err = w.communicate(timeout=90)
        assert w.returncode == 0, err
    # Then each order got exactly one invoice, numbered without gaps
    rows = json.loads(invoke(["status", "--json"], env).stdout)
    assert sorted(r["invoice"]["order_id"] for r in rows) == sorted(f"O-{n}" for n in range(20))
    assert sorted(r["key"] for r in rows) == [f"INV-{n:07d}" for n in range(1, 21)]
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert len(ids) == 20 and len(set(ids)) == 20


def test_status_of_one_invoice_shows_each_recipients_history(env, smtp_server):
    # Given an invoice whose first attempt got a 451 and whose retry was accepted
    env = dict(env, RETRY_FIRST_S="0.2", RETRY_MAX_S="0.2")
    smtp_server.data_replies = ["451 4.3.0 Try again later"]
    assert invoke(["ingest", "-"], env, stdin=jsonl(contract_example()[:3])).returncode == 0
    assert invoke(["run", "--burst"], env).returncode == 0
    if not smtp_server.messages:  # the retry fell due after the burst ended
        time.sleep(0.3)
        assert invoke(["run", "--burst"], env).returncode == 0
    # When an operator asks for that invoice
    out = invoke(["status", "--invoice", "INV-0000001"], env).stdout
    # Then both attempts are listed per recipient, with the SMTP replies
    history = out.split("history:")[1]
    assert "els@acme.example: deferred 451 4.3.0 Try again later" in history
    assert "els@acme.example: accepted 250" in history


def test_dead_letters_lists_each_rejected_event_with_its_field_and_reason(env):
    bad = dict(contract_example()[2], id="bad-act")
    bad["data"] = {k: v for k, v in bad["data"].items() if k != "activated_at"}
    invoke(["ingest", "-"], env, stdin=jsonl([contract_example()[0], bad]))
    out = invoke(["dead-letters"], env).stdout
    assert "bad-act  service.activated  data.activated_at: Field required" in out
    assert out.strip().endswith("1 dead-lettered event(s)")
    entries = json.loads(invoke(["dead-letters", "--json"], env).stdout)
    assert [(e["event_id"], e["field"]) for e in entries] == [("bad-act", "data.activated_at")]


def test_dead_letters_replay_and_purge_take_ids_or_all_and_say_what_they_did(env):
    # Given a rejected activation (no activated_at) among the dead letters
    bad = dict(contract_example()[2], id="bad-act")
    bad["data"] = {k: v for k, v in bad["data"].items() if k != "activated_at"}
    invoke(["ingest", "-"], env, stdin=jsonl([contract_example()[0], bad]))
    # A replay or purge that names nothing is refused, naming what to give
    refused = invoke(["dead-letters", "replay"], env)
    assert refused.returncode == 2 and "name the event ids, or --all" in refused.stderr
    # Replaying it as it was rejects it again (the producer has not fixed it): it is kept again
    replayed = invoke(["dead-letters", "replay", "bad-act"], env)
    assert replayed.returncode == 0 and "replayed bad-act (service.activated)" in replayed.stdout
    assert [e["event_id"] for e in json.loads(invoke(["dead-letters", "--json"], env).stdout)] == ["bad-act"]
    # And a purge of its type takes it away
    purged = invoke(["dead-letters", "purge", "--all", "--type", "service.activated"], env)
    assert purged.returncode == 0 and purged.stdout.strip().endswith("1 dead letter(s) purged, 0 kept")
    assert json.loads(invoke(["dead-letters", "--json"], env).stdout) == []


def test_status_filters_by_state_kind_and_time_and_refuses_a_bad_timestamp(env):
    invoke(["ingest", "-"], env, stdin=jsonl(contract_example()))
    assert invoke(["run", "--burst"], env).returncode == 0
    rows = json.loads(invoke(["status", "--kind", "invoice", "--state", "accepted", "--json"], env).stdout)
    assert rows and {r["kind"] for r in rows} == {"invoice"}
    assert json.loads(invoke(["status", "--state", "deferred", "--json"], env).stdout) == []
    assert json.loads(invoke(["status", "--since", "2999-01-01T00:00:00Z", "--json"], env).stdout) == []
    bad = invoke(["status", "--since", "yesterday"], env)
    assert bad.returncode == 2 and "not an ISO 8601 timestamp" in bad.stderr


def test_a_value_an_operator_passes_in_cannot_forge_a_line_of_the_output(env):
    # Given an invoice number holding CR LF and what looks like a line of output
    forged = "1999-12-31 23:59:59,000 INFO invoice-worker: sent INV-0000001"
    # When status is asked for it
    result = invoke(["status", "--invoice", f"INV-404\r\n{forged}"], env)
    # Then the answer is one line, the line break shown escaped
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"no invoice INV-404\\r\\n{forged}"]
