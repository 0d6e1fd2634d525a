"""Dead letters an operator can act on: replayed once the producer's data is fixed (applied once,
under its own id), purged, and refused to replay with why when a secret was redacted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import contract_example, payment_received, rewards_accrued
from tests.support.harness import Harness, make_settings
from worker.services.dead_letters import Selection, purge, replay
from worker.store.store import Store

NOW = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    # Nothing waits for what it needs here: it is dead-lettered at once.
    return Harness.build(make_settings(redis_url, smtp_server.port, payment_wait_s=0, rewards_wait_s=0), NOW)


def test_a_payment_replayed_after_its_invoice_exists_is_applied_once(harness, smtp_server):
    # Given a payment dead-lettered because its invoice did not exist yet
    harness.ingest([payment_received("29040.00", event_id="pay-early")])
    harness.drain()
    assert [d["field"] for d in harness.dead_letters()] == ["data.invoice_number"]
    # When the invoice is issued and the payment replayed (twice, by an impatient operator)
    harness.ingest(contract_example()[:3])
    harness.drain()
    smtp_server.clear()
    replayed = replay(harness.pipeline, Selection(ids=frozenset({"pay-early"})))
    again = replay(harness.pipeline, Selection(ids=frozenset({"pay-early"})))
    harness.drain()
    # Then it is applied once: one confirmation, the invoice closed, no dead letter left
    assert [e["event_id"] for e in replayed.done] == ["pay-early"] and again.done == []
    assert len(smtp_server.messages) == 1 and harness.dead_letters() == []
    (row,) = [r for r in harness.status("INV-0000001") if r["kind"] == "invoice"]
    assert row["ledger"]["state"] == "closed"


def test_a_replayed_event_that_fails_again_is_dead_lettered_again(harness, smtp_server):
    harness.ingest([payment_received("100.00", invoice_number="INV-0009999", event_id="pay-none")])
    harness.drain()
    replay(harness.pipeline, Selection(all=True))
    harness.drain()
    assert [d["event_id"] for d in harness.dead_letters()] == ["pay-none"]


def test_an_event_whose_secret_was_redacted_is_not_replayed_and_says_why(harness, smtp_server):
    # A rewards accrual for an account that never arrived (its code was redacted when kept)
    harness.ingest([rewards_accrued("2026-01", account_id="A-404", event_id="acc-lost")])
    harness.drain()
    assert [d["event_id"] for d in harness.dead_letters()] == ["acc-lost"]
    outcome = replay(harness.pipeline, Selection(type="rewards.accrued", all=True))
    assert outcome.done == [] and "redacted" in outcome.kept[0][1]
    assert [d["event_id"] for d in harness.dead_letters()] == ["acc-lost"]


def test_purge_takes_the_chosen_dead_letters_away(harness, smtp_server):
    harness.ingest([payment_received("1.00", invoice_number="INV-0000777", event_id=f"p{i}") for i in range(3)])
    harness.drain()
    settings = harness.settings

    async def purge_one() -> list[str]:
        async with Store.open(settings.redis_url or "", prefix=settings.redis_prefix) as store:
            return [e["event_id"] for e in (await purge(store, Selection(ids=frozenset({"p1"})))).done]

    assert asyncio.run(purge_one()) == ["p1"]
    assert sorted(d["event_id"] for d in harness.dead_letters()) == ["p0", "p2"]
