"""Hostile input through `invoice-worker ingest` as an operator runs it (a separate process, the
tests' Redis and SMTP server): no line makes it crash, each bad line is rejected with its reason
and dead-lettered, the good events around them are invoiced, and no value forges a line of the
log or of the report."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import cli_env, invoke
from tests.support.contract_events import account_updated, contact, contract_example, order_booked
from worker.contract.jsonlines import MAX_LINE_BYTES

FORGED = "1999-12-31 23:59:59,000 INFO invoice-worker: payment received for INV-0000001"


@pytest.fixture
def env(redis_client, redis_url, smtp_server):
    return cli_env(redis_url, smtp_server.port)


def line(event: dict, *, ascii_only: bool = True) -> bytes:
    return json.dumps(event, ensure_ascii=ascii_only).encode()


def test_a_hostile_file_is_ingested_without_a_crash_and_its_good_events_are_invoiced(env, smtp_server, tmp_path):
    # Given the contract example's four events (the first after a BOM), and between and after
    # them the lines that broke ingest or slipped through
    e1, e2, e3, e4 = contract_example()
    hostile = [
        (b'{"id": "bad-utf8", "type": "account.updated", "data": {"name": "Caf\xe9"}}', "?", "(json)"),
        (b'{"id": "deep", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "?", "(json)"),
        (b'{"id": "huge", "data": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}', "?", "(json)"),
        (line(dict(e2, data=dict(e2["data"], po_number="PO-99"))), "e2", "id"),
        (line(account_updated("A-200", name="Null\x00 B.V.", event_id="nul-name")), "nul-name", "data.name"),
        (
            line(order_booked("O-2", billing_contact=contact("Eve \u202egnp.exe", "eve@acme.example"), event_id="rlo")),
            "rlo",
            "data.billing_contact.name",
        ),
        (
            line(account_updated("A-300", name="RLO \u202eV.B", event_id="rlo-utf8"), ascii_only=False),
            "rlo-utf8",
            "data.name",
        ),
        (line(dict(e3, id=f"e9\r\n{FORGED}")), None, "id"),
    ]
    bad = [content for content, _, _ in hostile]
    lines = [b"\xef\xbb\xbf" + line(e1), *bad[:2], line(e2), *bad[2:4], line(e3), *bad[4:6], line(e4), *bad[6:]]
    lines.append(line(e3))  # a replay: the same id and data has the effect of once
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    # When it is ingested
    result = invoke(["ingest", str(path)], env)
    # Then ingest ends normally, with exit 1 (lines were rejected) and no traceback
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip() == f"accepted {len(lines) - len(hostile)}, rejected {len(hostile)}"
    # And each bad line is reported with its line number, event id and field
    reported = [ln for ln in result.stderr.splitlines() if ln.startswith("line ")]
    numbers = [n for n, content in enumerate(lines, start=1) if content in bad]
    assert [ln.split(":")[0] for ln in reported] == [f"line {n}" for n in numbers]
    for text, (_, event_id, field) in zip(reported, hostile, strict=True):
        assert f": {field}: " in text and (event_id is None or f"event {event_id}:" in text or event_id in text)
    # And no value started a line of its own: the CR LF id shows escaped, on its record's line
    assert not any(ln.startswith(FORGED[:10]) for ln in result.stderr.splitlines())
    assert any("e9\\r\\n" + FORGED[:20] in ln for ln in reported)
    logged = [ln for ln in result.stderr.splitlines() if " ERROR " in ln and "e9\\r\\n" + FORGED[:20] in ln]
    assert len(logged) == 1  # the log record of the rejection, on its own line
    # When the worker drains the queues
    run = invoke(["run", "--burst"], env)
    assert run.returncode == 0, run.stderr
    # Then the contract example's two invoices arrive, once each, as the first events said
    assert len(smtp_server.messages) == 2
    assert all("PO-77" in m.message.get_body(("plain",)).get_content() for m in smtp_server.messages)
    # And every bad line is dead-lettered with its field and reason
    dead = json.loads(invoke(["dead-letters", "--json"], env).stdout)
    assert [d["field"] for d in dead] == [field for _, _, field in hostile]
    assert [d["reason"] for d in dead][:4] == [
        "not valid UTF-8: byte 0xe9 at byte offset 67 of the line",
        "objects and arrays nest more than 32 deep",
        f"the line is {MAX_LINE_BYTES + 36} bytes long; at most {MAX_LINE_BYTES} are accepted",
        "id e2 was first seen with different data",
    ]
    assert "U+0000" in dead[4]["reason"] and "U+202E" in dead[5]["reason"] and "U+202E" in dead[6]["reason"]
    # And the dead-letters report is one line per entry too
    report = invoke(["dead-letters"], env).stdout.splitlines()
    assert len(report) == len(hostile) + 1 and not any(ln.startswith(FORGED[:10]) for ln in report)
