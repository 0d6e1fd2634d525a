"""A worker's heartbeat keeps what it holds while the work runs: a send slower than the lease
never loses its claim or its delivery's lock, and goes out once (real Redis, a real SMTP server
that holds each DATA reply, the real clock so that leases run out as in production)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter

from tests.support.contract_events import contract_example
from tests.support.harness import make_settings
from tests.support.smtp_doubles import ScriptedSmtpServer
from worker.runtime.runner import make_pipeline, run
from worker.services.ingest import ingest_lines
from worker.services.status import collect_status

LEASE_S = 2.0
DATA_HOLD_S = 5.0


def test_a_send_slower_than_the_lease_keeps_its_claim_and_goes_out_once(redis_client, redis_url, caplog):
    caplog.set_level(logging.INFO)
    # Given a 2 s lease and a relay that holds each DATA reply for 5 s
    with ScriptedSmtpServer(stall_s=DATA_HOLD_S, stall_stage="data") as relay:
        settings = make_settings(redis_url, relay.port, due_lease_s=LEASE_S, smtp_timeout_s=15.0)
        pipeline = make_pipeline(settings)
        report = ingest_lines(pipeline, [json.dumps(e) for e in contract_example()])
        assert report.accepted == 4
        # When a burst run sends the two invoices (the scheduler looks every 50 ms meanwhile)
        run(pipeline, burst=True, timeout_s=60)
        copies = Counter((str(m.message["Message-ID"]), rcpt) for m in relay.messages for rcpt in m.rcpt_tos)
    # Then each invoice reached each of its three recipients once
    assert len({message_id for message_id, _ in copies}) == 2
    assert len(copies) == 6 and set(copies.values()) == {1}
    rows = asyncio.run(collect_status(redis_url, settings.redis_prefix))
    assert {r["state"] for row in rows for r in row["recipients"]} == {"accepted"}
    # And no claim or lock was ever taken by another run of the work
    assert not [r for r in caplog.records if "taken by another worker" in r.getMessage()]
    assert not [r for r in caplog.records if "busy elsewhere" in r.getMessage()]
