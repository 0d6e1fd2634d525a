"""`document` and `resend` as operators use them: separate processes, a real Redis and SMTP server."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from tests.support.cli import cli_env, invoke, jsonl
from tests.support.contract_events import account_updated, contract_example


@pytest.fixture
def env(redis_client, redis_url, smtp_server):
    return cli_env(redis_url, smtp_server.port)


def delivered(env, events) -> None:
    assert invoke(["ingest", "-"], env, stdin=jsonl(events)).returncode == 0
    run = invoke(["run", "--burst"], env)
    assert run.returncode == 0, run.stderr


def test_document_writes_the_pdf_and_ubl_as_they_were_sent(env, smtp_server, tmp_path):
    # Given the contract example for an account with its Peppol id (the Netherlands: UBL)
    events = contract_example()
    events[0] = account_updated(event_id="e1", vat_id="NL004495445B01", peppol_id="9944:NL004495445B01")
    delivered(env, events)
    sent = {
        part.get_filename(): part.get_content()
        for message in smtp_server.messages
        if "INV-0000001" in message.message["Subject"]
        for part in message.message.iter_attachments()
    }
    # When the operator asks for the invoice's documents
    result = invoke(["document", "--invoice", "INV-0000001", "--out", str(tmp_path)], env)
    # Then the files written are the ones the email carried, byte for byte
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["INV-0000001.pdf", "INV-0000001.xml"]
    assert (tmp_path / "INV-0000001.pdf").read_bytes() == sent["INV-0000001.pdf"]
    assert (tmp_path / "INV-0000001.xml").read_bytes() == sent["INV-0000001.xml"]
    assert "INV-0000001" in PdfReader(tmp_path / "INV-0000001.pdf").pages[0].extract_text()


def test_document_of_an_unknown_invoice_says_so(env, tmp_path):
    result = invoke(["document", "--invoice", "INV-404", "--out", str(tmp_path)], env)
    assert result.returncode == 1 and "no invoice INV-404" in result.stderr


def test_resend_queues_a_marked_copy_that_a_worker_sends_and_status_shows(env, smtp_server):
    delivered(env, contract_example())
    smtp_server.clear()
    result = invoke(["resend", "--invoice", "INV-0000002", "--to", "ap@acme.example"], env)
    assert result.returncode == 0, result.stderr
    assert "invoice:INV-0000002:copy-1" in result.stdout
    assert invoke(["run", "--burst"], env).returncode == 0
    (copy,) = smtp_server.messages
    assert copy.message["Subject"].startswith("Kopie: ") and list(copy.rcpt_tos) == ["ap@acme.example"]
    rows = json.loads(invoke(["status", "--invoice", "INV-0000002", "--json"], env).stdout)
    assert [row["delivery"] for row in rows] == ["invoice:INV-0000002", "invoice:INV-0000002:copy-1"]


def test_resend_to_something_that_is_not_an_address_is_refused(env):
    delivered(env, contract_example())
    result = invoke(["resend", "--invoice", "INV-0000001", "--to", "not an address"], env)
    assert result.returncode == 2 and "--to" in result.stderr
