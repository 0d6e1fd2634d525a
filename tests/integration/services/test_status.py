"""`status` on a real Redis: what an operator asks for (one invoice, `--since`, `--kind`) is
narrowed before the deliveries are read, and reads the same rows as filtering all of them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, line, order_booked, payment_received, service_activated
from tests.support.harness import Harness, make_settings
from worker.services import status
from worker.services.status import collect_status, filter_rows

BOOKED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def harness(redis_client, redis_url, smtp_server) -> Harness:
    """Three invoices on one account, the third a week after the first two, and a payment on the
    second (its confirmation is an email about that invoice)."""
    harness = Harness.build(make_settings(redis_url, smtp_server.port), BOOKED)
    harness.ingest([account_updated(event_id="e1")])
    for n in (1, 2, 3):
        if n == 3:
            harness.clock.now = LATER
        activated = harness.clock.now.isoformat().replace("+00:00", "Z")
        harness.ingest(
            [
                order_booked(f"O-{n}", subscription_id=f"S-{n}", lines=[line("L1", "Compute")], event_id=f"b{n}"),
                service_activated(f"O-{n}", "L1", activated, event_id=f"a{n}"),
            ]
        )
        harness.drain()
    harness.ingest([payment_received("100.00", invoice_number="INV-0000002", at="2026-01-10T10:00:00Z", event_id="p1")])
    harness.drain()
    return harness


def rows(harness: Harness, **narrowed) -> list[dict]:
    settings = harness.settings
    return asyncio.run(
        collect_status(settings.redis_url or "", settings.redis_prefix, today=harness.clock().date(), **narrowed)
    )


def test_one_invoice_shows_its_own_emails_only(harness) -> None:
    # When the operator asks for the second invoice
    shown = rows(harness, invoice="INV-0000002")
    # Then its invoice email and its payment confirmation, and nothing about the other two
    assert [(r["kind"], r["key"]) for r in shown] == [("invoice", "INV-0000002"), ("payment_received", "INV-0000002")]
    assert shown[0]["ledger"]["covered"] == "100.00"


@pytest.mark.parametrize("page", [1, 2, 200])
def test_since_and_kind_read_the_same_rows_as_filtering_every_delivery(harness, monkeypatch, page: int) -> None:
    # Given deliveries read a page at a time (pages of one, two, or all)
    monkeypatch.setattr(status, "STATUS_PAGE", page)
    everything = rows(harness)
    assert [r["key"] for r in everything] == ["INV-0000001", "INV-0000002", "INV-0000003", "INV-0000002"]
    # When the operator narrows by time, by kind, or both, alone or for one invoice
    for narrowed in (
        {"since": LATER},
        {"of_kind": "invoice"},
        {"since": LATER, "of_kind": "invoice"},
        {"since": LATER, "invoice": "INV-0000002"},
        {"of_kind": "invoice", "invoice": "INV-0000002"},
    ):
        expected = filter_rows(everything, since=narrowed.get("since"), kind=narrowed.get("of_kind"))
        if "invoice" in narrowed:
            expected = [r for r in expected if r["key"] == narrowed["invoice"]]
        # Then the rows are those of every delivery filtered, in the same order
        assert rows(harness, **narrowed) == expected, narrowed
    assert [r["key"] for r in rows(harness, since=LATER)] == ["INV-0000003", "INV-0000002"]
