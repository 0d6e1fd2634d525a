"""An error no handler foresaw is tried a bounded number of times, then dead-lettered with its
reason, and `run --burst` exits: a poison event does not hold up the rest of its chunk, a window
or a delivery that keeps failing is not claimed again forever, while Redis away is retried for as
long as it takes (real Redis, real SMTP server).

The fault is injected in one place, a service function the actors call, since the real bugs of
that kind (an amount that raises `decimal.InvalidOperation`) are being closed one by one.
"""

from __future__ import annotations

import asyncio
import decimal
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.exceptions

from tests.support.contract_events import account_updated, contract_example, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from worker.runtime.runner import make_pipeline, run
from worker.services import apply_events, invoicing, sending
from worker.services.ingest import ingest_lines
from worker.services.status import collect_dead_letters, collect_status

FEB_2026 = datetime(2026, 2, 15, 10, 0, tzinfo=UTC)
ATTEMPTS = 4


@pytest.fixture
def harness(redis_client, redis_url, smtp_server) -> Harness:
    settings = make_settings(
        redis_url,
        smtp_server.port,
        unforeseen_error_attempts=ATTEMPTS,
        # Tried again at once: the test's clock does not move by itself.
        unforeseen_error_retry_s=0.0,
    )
    return Harness.build(settings, FEB_2026)


def three_orders() -> list[dict[str, Any]]:
    """One account, three orders whose windows are closed: three invoices."""
    events: list[dict[str, Any]] = [account_updated(event_id="acct")]
    for n in (1, 2, 3):
        events.append(
            order_booked(f"O-{n}", subscription_id=f"S-{n}", lines=[line("L1", "Compute")], event_id=f"book-{n}")
        )
        events.append(service_activated(f"O-{n}", "L1", "2026-01-02T09:00:00Z", event_id=f"act-{n}"))
    return events


def invoiced_orders(harness: Harness) -> list[str]:
    return sorted(row["invoice"]["order_id"] for row in harness.status())


def test_a_poison_event_is_tried_a_bounded_number_of_times_then_dead_lettered_and_its_chunk_goes_on(
    harness, smtp_server, monkeypatch
):
    # Given an order.booked handler that raises on O-2 as a huge amount did (InvalidOperation)
    real = apply_events.HANDLERS["order.booked"]
    tries: list[str] = []

    async def poisoned(app: Any, event: Any) -> list[str]:
        if event.data.order_id == "O-2":
            tries.append(event.id)
            raise decimal.InvalidOperation([decimal.InvalidOperation])
        return await real(app, event)

    monkeypatch.setitem(apply_events.HANDLERS, "order.booked", poisoned)
    # When its events arrive in one chunk with the good ones before and after it
    report = harness.ingest(three_orders())
    assert report.accepted == 7
    harness.drain()  # raises if the burst run does not finish
    # Then it was tried exactly the bounded number of times, and dead-lettered naming the error
    assert tries == ["book-2"] * ATTEMPTS
    [letter] = harness.dead_letters()
    assert letter["event_id"] == "book-2" and letter["type"] == "order.booked"
    assert letter["field"] == "(unforeseen error)"
    assert letter["reason"].startswith("InvalidOperation: ")
    assert f"gave up after {ATTEMPTS} attempts" in letter["reason"]
    assert letter["event"]["data"]["order_id"] == "O-2"
    # And the good events around it were applied, each once: one invoice each
    assert invoiced_orders(harness) == ["O-1", "O-3"]
    assert len(smtp_server.messages) == 2


def test_a_window_that_keeps_failing_is_dead_lettered_instead_of_claimed_forever(harness, smtp_server, monkeypatch):
    # Given closing O-2's window fails with an error nobody foresaw
    real = invoicing.close_windows
    tries: list[str] = []

    async def poisoned(app: Any, order_id: str, lease: float) -> Any:
        if order_id == "O-2":
            tries.append(order_id)
            raise KeyError("lines")
        return await real(app, order_id, lease)

    monkeypatch.setattr(invoicing, "close_windows", poisoned)
    # When the orders are ingested and a burst run drains them
    harness.ingest(three_orders())
    harness.drain()
    # Then the window was tried the bounded number of times and its dead letter names it
    assert tries == ["O-2"] * ATTEMPTS
    [letter] = harness.dead_letters()
    assert letter["event_id"] == "window:O-2" and letter["type"] == "due window"
    assert letter["reason"].startswith("KeyError: 'lines'") and "gave up after" in letter["reason"]
    # And the other orders were invoiced
    assert invoiced_orders(harness) == ["O-1", "O-3"]


def test_a_delivery_that_keeps_failing_is_dead_lettered_and_status_shows_it_failed(harness, smtp_server, monkeypatch):
    # Given sending the second invoice fails with an error nobody foresaw, every time
    real = sending.deliver
    tries: list[str] = []

    async def poisoned(app: Any, delivery_id: str, lease: float) -> Any:
        if delivery_id.endswith("INV-0000002"):
            tries.append(delivery_id)
            raise ZeroDivisionError("division by zero")
        return await real(app, delivery_id, lease)

    monkeypatch.setattr(sending, "deliver", poisoned)
    # When the orders are ingested and a burst run drains them
    harness.ingest(three_orders())
    harness.drain()
    # Then it was tried the bounded number of times, then dead-lettered naming the delivery
    assert len(tries) == ATTEMPTS
    [letter] = harness.dead_letters()
    assert letter["event_id"] == f"deliver:{tries[0]}" and letter["type"] == "due deliver"
    assert letter["reason"].startswith("ZeroDivisionError: division by zero")
    # And status shows its recipients failed with that reason, the others' invoices accepted
    states = harness.recipient_states()
    assert set(states["INV-0000002"].values()) == {"failed"}
    assert {s for key, by in states.items() if key != "INV-0000002" for s in by.values()} == {"accepted"}
    [failed] = harness.status("INV-0000002")
    assert all("ZeroDivisionError" in r["last_reply"] for r in failed["recipients"])
    assert len(smtp_server.messages) == 2


def test_redis_away_is_not_counted_as_unforeseen_the_delivery_is_tried_until_it_goes(
    redis_client, redis_url, smtp_server, monkeypatch
):
    # Given two attempts for unforeseen errors, a 1 s lease, the real clock (so that leases run
    # out), and a delivery whose first three tries find Redis away
    settings = make_settings(redis_url, smtp_server.port, unforeseen_error_attempts=2, due_lease_s=1.0)
    pipeline = make_pipeline(settings)
    real = sending.deliver
    tries: list[str] = []

    async def redis_away(app: Any, delivery_id: str, lease: float) -> Any:
        if delivery_id.endswith("INV-0000001") and len(tries) < 3:
            tries.append(delivery_id)
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await real(app, delivery_id, lease)

    monkeypatch.setattr(sending, "deliver", redis_away)
    # When the contract example is ingested and drained
    ingest_lines(pipeline, [json.dumps(e) for e in contract_example()])
    run(pipeline, burst=True, timeout_s=60)
    # Then the delivery was tried again past the unforeseen errors' bound, and went out
    assert len(tries) == 3
    assert asyncio.run(collect_dead_letters(redis_url, settings.redis_prefix)) == []
    rows = asyncio.run(collect_status(redis_url, settings.redis_prefix))
    assert {r["state"] for row in rows for r in row["recipients"]} == {"accepted"}
    assert len(smtp_server.messages) == 2
