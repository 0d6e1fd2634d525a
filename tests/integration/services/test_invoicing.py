"""Later billing periods settled through a real Redis: once, with gapless numbers, however many
workers try at the same time."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from tests.support.billing_examples import account, three_year_order
from tests.support.harness import FakeClock, make_settings
from worker.services.context import ServiceContext
from worker.services.invoicing import invoice_periods
from worker.store.orders import ActivationToApply


async def _race(app: ServiceContext, workers: int) -> list[str]:
    store = app.store
    contract = three_year_order(order_id="O-1")
    await store.orders.save_account(account(), datetime(2026, 1, 1, tzinfo=UTC))
    await store.orders.save_order(contract, "e-order")
    activated = ActivationToApply("e-act", "O-1", "L1", datetime(2026, 1, 1, 9, tzinfo=UTC))
    await store.orders.apply_activations([activated], due_at=activated.at.timestamp())
    try:
        results = await asyncio.gather(*(invoice_periods(app, "S-1", lease=float(i)) for i in range(workers)))
        numbers = [settled.invoice_number for batch in results for settled in batch]
        issued = await store.deliveries.invoice_numbers()
        invoices = [await store.deliveries.load_invoice(n) for n in issued]
        assert issued == ["INV-0000001", "INV-0000002"]
        assert [inv.lines[0].period_start for inv in invoices if inv] == [date(2027, 1, 1), date(2028, 1, 1)]
        return numbers
    finally:
        await app.aclose()


def test_many_workers_invoice_each_due_period_once_with_numbers_without_gaps(redis_client, redis_url):
    # Given a three-year subscription whose second and third years have fallen due
    app = ServiceContext.from_settings(
        make_settings(redis_url, 25), clock=FakeClock(datetime(2028, 1, 1, 1, tzinfo=UTC))
    )
    # When eight workers invoice its periods at the same time
    numbers = asyncio.run(_race(app, workers=8))
    # Then each period is invoiced once, numbered 1 and 2 (no gap, no duplicate), listed by the
    # sequence itself: no sorted set of the numbers is kept beside it
    assert sorted(numbers) == ["INV-0000001", "INV-0000002"]
    assert not redis_client.exists("iw:invoices")
