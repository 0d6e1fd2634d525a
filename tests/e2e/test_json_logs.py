"""`LOG_FORMAT=json`: one JSON object a line, naming the event or delivery each record is about
(a recipient by its domain, never its address), with control characters escaped (an event id
with CR LF forges no line)."""

from __future__ import annotations

import json

from tests.support.cli import cli_env, invoke, jsonl
from tests.support.contract_events import contract_example, payment_received


def test_json_logs_are_one_object_a_line_with_the_ids_of_what_they_are_about(redis_url, redis_client, smtp_server):
    env = cli_env(redis_url, smtp_server.port, LOG_FORMAT="json")
    env["LOG_LEVEL"] = "INFO"  # the records about each event and delivery
    env["PAYMENT_WAIT_S"] = "0"  # a payment for no invoice is rejected as it is applied
    forged = dict(contract_example()[2], id="evil\r\n2026-01-01 00:00:00,000 INFO forged line")
    forged["data"] = {k: v for k, v in forged["data"].items() if k != "activated_at"}
    ingested = invoke(
        ["ingest", "-"],
        env,
        stdin=jsonl(
            [*contract_example(), forged, payment_received("1.00", invoice_number="INV-0009999", event_id="pay-x")]
        ),
    )
    assert ingested.returncode == 1  # the forged id is refused, and said so
    result = invoke(["run", "--burst"], env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    # Every line is an object with the fields a log pipeline reads
    assert records and all({"at", "level", "logger", "message"} <= set(r) for r in records)
    # The sends name their delivery, kind and invoice; the applied events their event id
    about_invoices = {r.get("invoice_number") for r in records if r.get("kind") == "invoice"}
    assert {"INV-0000001", "INV-0000002"} <= about_invoices
    assert any(r.get("event_id") == "pay-x" and r["level"] == "ERROR" for r in records)
    assert any(r.get("order_id") == "O-1" and "INV-0000001" in r["message"] for r in records)
    # Each recipient's outcome carries its domain, state and the relay's reply, not its address
    outcomes = [r for r in records if "recipient_domain" in r]
    assert outcomes and all(r["state"] == "accepted" and r["smtp_reply"].startswith("250") for r in outcomes)
    assert {r["recipient_domain"] for r in outcomes} >= {"acme.example"}
    sent_to = {rcpt for m in smtp_server.messages for rcpt in m.rcpt_tos}
    assert sent_to and not any(address in line for address in sent_to for line in result.stderr.splitlines())
    # And no line was forged by the id with CR LF: every line of the ingest's log is one object
    ingest_lines = [line for line in ingested.stderr.splitlines() if line.strip()]
    assert ingest_lines and all(isinstance(json.loads(line), dict) for line in ingest_lines if line.startswith("{"))
    assert not any(line.startswith("2026-01-01 00:00:00,000 INFO forged") for line in ingest_lines)
