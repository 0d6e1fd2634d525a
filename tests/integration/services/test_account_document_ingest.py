"""account.updated's invoice-document fields through ingest and the worker: a bad VAT id is a dead
letter on `data.vat_id` saying why, and blocks nothing else; a good account keeps its fields in
the store and is invoiced as before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.support.contract_events import account_updated, line, order_booked, service_activated
from tests.support.harness import Harness, make_settings
from worker.store.store import Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

DOCUMENT_FIELDS = {
    "legal_name": "Acme Nederland B.V.",
    "address": {"lines": ["Damrak 1"], "city": "Amsterdam", "postal_code": "1012 LG", "country": "NL"},
    "vat_id": "NL004495445B01",
    "peppol_id": "9944:NL004495445B01",
    "einvoice": "ubl",
}


@pytest.fixture
def harness(redis_client, redis_url, smtp_server):
    return Harness.build(make_settings(redis_url, smtp_server.port), NOW)


def orders_of(account_id: str, n: int) -> list[dict]:
    return [
        order_booked(f"O-{n}", account_id=account_id, lines=[line("L1", "Compute")], event_id=f"o{n}"),
        service_activated(f"O-{n}", "L1", "2026-01-01T09:00:00Z", event_id=f"a{n}"),
    ]


def test_a_vat_id_failing_its_check_digits_is_dead_lettered_on_vat_id_and_blocks_nothing_else(harness, smtp_server):
    # Given an account whose VAT id fails the Dutch check digits (the CONTRACT's example), and
    # another account with valid document fields, each with an order
    bad = account_updated("A-BAD", event_id="acc-bad", **{**DOCUMENT_FIELDS, "vat_id": "NL123456789B01"})
    good = account_updated("A-100", event_id="acc-good", **DOCUMENT_FIELDS)
    # When they are ingested and the worker drains the queues
    report = harness.ingest([bad, good, *orders_of("A-100", 1)])
    harness.drain()
    # Then the bad account is rejected and dead-lettered naming the field and why
    assert [(r.error.event_id, r.error.field, r.error.reason) for r in report.rejections] == [
        ("acc-bad", "data.vat_id", "NL123456789B01 fails the NL check digits")
    ]
    (dead,) = harness.dead_letters()
    assert (dead["event_id"], dead["field"]) == ("acc-bad", "data.vat_id")
    assert "fails the NL check digits" in dead["reason"]
    # And the good account's order is invoiced as ever
    assert [row["invoice"]["order_id"] for row in harness.status()] == ["O-1"]
    assert len(smtp_server.messages) == 1

    # And the good account is stored with its document fields
    async def stored():
        async with Store.open(harness.settings.redis_url or "", prefix=harness.settings.redis_prefix) as store:
            return await store.orders.load_account("A-100")

    account = asyncio.run(stored())
    assert account is not None
    assert (account.legal_name, account.vat_id, account.peppol_id, account.einvoice) == (
        "Acme Nederland B.V.",
        "NL004495445B01",
        "9944:NL004495445B01",
        "ubl",
    )
    assert account.address is not None and account.address.lines == ("Damrak 1",)
