"""The scripts find the keys they name at run time (from an order's body, from the invoice number
they allocate) where worker/store/keys.py puts them, whatever the prefix."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from tests.support.examples import ELS, contract_invoice
from worker.domain.delivery import RecipientState
from worker.domain.model import Account, Order, OrderLine
from worker.store import invoice_records, order_records
from worker.store.deliveries import Settlement
from worker.store.due_members import deliver_member
from worker.store.keys import Keys
from worker.store.orders import ActivationToApply
from worker.store.store import Store

#: A prefix with a `%` in it: the patterns the scripts get must keep it literal.
PREFIX = "50%:t"
NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def order(order_id: str) -> Order:
    line = OrderLine(line_id="L1", product="Compute", kind="paas", tax_rate=Decimal("0.21"), annual_amount=Decimal("1"))
    return Order(
        order_id=order_id,
        account_id="A-100",
        subscription_id="S-1",
        billing_contact=ELS,
        po_number=None,
        payment_method="invoice",
        currency="USD",
        billing_frequency="annual",
        term_start=date(2026, 1, 1),
        term_end=date(2026, 12, 31),
        lines=(line,),
    )


def test_window_and_subscription_reads_find_the_account_and_the_sibling_orders(redis_url, redis_client):
    account = Account(account_id="A-100", name="Acme B.V.", country="NL", sector="private")

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            await store.orders.save_account(account, NOW)
            await store.orders.save_order(order("O-1"))
            await store.orders.save_order(order("O-2"))
            await store.orders.apply_activations([ActivationToApply("e-2", "O-2", "L1", NOW)], due_at=NOW.timestamp())
            return await store.orders.load_window("O-1"), await store.orders.load_subscription("S-1")

    window, subscription = asyncio.run(scenario())
    assert window is not None and window.account == account
    assert [o.order_id for o in window.other_orders] == ["O-2"]
    assert [o.order_id for o in subscription.orders] == ["O-1", "O-2"] and subscription.account == account
    assert subscription.activations["O-2"]["L1"]["event_id"] == "e-2" and subscription.activations["O-1"] == {}


def test_settling_puts_the_invoice_its_delivery_and_its_due_member_under_the_kind_and_keys_given(
    redis_url, redis_client
):
    keys = Keys(PREFIX)
    states = {ELS.email: RecipientState(address=ELS.email, role="to")}
    settlement = Settlement({"to": [{"name": ELS.name, "email": ELS.email}]}, "nl-NL", states, NOW, lease=1e9)

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            number = await store.deliveries.settle_window(
                "O-1", ("L1",), contract_invoice(), settlement, kind="invoice", subscription_id="S-1"
            )
            assert number is not None
            return (
                number,
                await store.deliveries.load_delivery(f"invoice:{number}"),
                await store.deliveries.recipient_states(f"invoice:{number}"),
            )

    number, delivery, recipients = asyncio.run(scenario())
    assert number == "INV-0000001"
    assert delivery is not None and (delivery["kind"], delivery["key"]) == ("invoice", number)
    assert recipients == states
    # The invoice is kept as a record (deflated JSON), and read back as the invoice settled
    assert redis_client.get(keys.invoice(number)).startswith(invoice_records.MARKER_2)
    member = deliver_member(f"invoice:{number}")
    assert redis_client.zscore(keys.due, member) == 1e9 and redis_client.zscore(keys.leased, member) == 1e9
    assert redis_client.lrange(keys.created_deliveries, 0, -1) == [f"{NOW.timestamp()!r} invoice:{number}".encode()]
    # And the subscription's later periods, which waited for this first window, are due now
    assert redis_client.zscore(keys.due, "period:S-1") == NOW.timestamp()


def test_settled_lines_are_kept_in_the_orders_activations_hash_and_those_of_before_still_count(redis_url, redis_client):
    keys = Keys(PREFIX)
    states = {ELS.email: RecipientState(address=ELS.email, role="to")}
    settlement = Settlement({"to": [{"name": ELS.name, "email": ELS.email}]}, "nl-NL", states, NOW, lease=1e9)
    # Given O-1 with its line activated, and O-2 whose line an earlier release settled in a
    # hash of its own
    redis_client.hset(keys.settled("O-2"), "L1", "INV-0000009")

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            await store.orders.save_order(order("O-1"))
            await store.orders.save_order(order("O-2"))
            await store.orders.apply_activations([ActivationToApply("e-1", "O-1", "L1", NOW)], due_at=NOW.timestamp())
            unsettled = await store.orders.settled_any("O-1")
            # When O-1's window settles its line, and settling it (or O-2's) again is tried
            first = await store.deliveries.settle_window(
                "O-1", ("L1",), contract_invoice(), settlement, kind="invoice", subscription_id="S-1"
            )
            again = [
                await store.deliveries.settle_window(
                    order_id, ("L1",), contract_invoice(), settlement, kind="invoice", subscription_id="S-1"
                )
                for order_id in ("O-1", "O-2")
            ]
            redis_client.zrem(keys.due, "period:S-1")
            # and a line activated later (a replay's earlier time: it is applied)
            earlier = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
            await store.orders.apply_activations([ActivationToApply("e-0", "O-1", "L1", earlier)], due_at=1.0)
            return (
                unsettled,
                first,
                again,
                await store.orders.settled_any("O-1"),
                await store.orders.settled_any("O-2"),
                await store.orders.load_window("O-1"),
                await store.orders.load_window("O-2"),
                await store.orders.load_activations("O-1"),
                await store.orders.load_subscription("S-1"),
            )

    unsettled, first, again, settled_1, settled_2, window_1, window_2, activations, subscription = asyncio.run(
        scenario()
    )
    # Then the line is settled once: no second invoice for it, nor for O-2's line of before
    assert (unsettled, first, again) == (False, "INV-0000001", [None, None])
    # And it is kept in O-1's record beside its activation, with no hash of its own
    assert not redis_client.exists(keys.settled("O-1")) and not redis_client.exists(keys.activations("O-1"))
    state = order_records.line_state(redis_client.get(keys.order("O-1")))
    assert dict(zip(state[::2], state[1::2], strict=True))[b"\x00L1"] == b"INV-0000001"
    # And every reader tells activations and settled lines apart, of either layout
    assert settled_1 and settled_2
    assert window_1 is not None and window_1.settled == {"L1": "INV-0000001"}
    assert set(window_1.activations) == {"L1"} and window_1.activations["L1"]["event_id"] == "e-0"
    assert window_2 is not None and window_2.settled == {"L1": "INV-0000009"} and window_2.activations == {}
    assert set(activations) == {"L1"} and set(subscription.activations["O-1"]) == {"L1"}
    # And an activation after the settlement marks the subscription's later periods due
    assert redis_client.zscore(keys.due, "period:S-1") == 1.0
