"""An attempt's outcome is recorded once (worker/store/scripts/close_attempt.lua): a write that
Redis took but whose reply was lost is written again by the outcome journal, and the delivery's
history and states must not change the second time."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from worker.domain.delivery import Outcome, RecipientState
from worker.store.store import Store

NOW = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
ELS = "els@acme.example"


def pending() -> dict[str, RecipientState]:
    return {ELS: RecipientState(address=ELS, role="to")}


async def _opened(store: Store, delivery_id: str) -> str:
    await store.deliveries.create_delivery(
        delivery_id,
        kind="invoice",
        key="INV-0000001",
        recipients={"to": [{"name": "Els de Vries", "email": ELS}], "cc": []},
        locale="nl-NL",
        context={},
        states=pending(),
        now=NOW,
    )
    opened = await store.deliveries.open_delivery(delivery_id, 30)
    assert opened is not None
    return opened.token


def accepted() -> dict[str, RecipientState]:
    return {ELS: replace(pending()[ELS], state=Outcome.ACCEPTED, reply="250 2.0.0 Ok", attempts=1)}


def test_an_outcome_written_twice_is_recorded_once(redis_url):
    # Given a delivery whose attempt was accepted and recorded
    async def scenario():
        async with Store.open(redis_url, prefix="close1") as store:
            token = await _opened(store, "invoice:INV-0000001")
            entry = {"at": NOW.timestamp(), "attempt": {ELS: {"state": "accepted", "reply": "250 2.0.0 Ok"}}}
            for _ in range(2):  # When the journal writes the same outcome again (its reply was lost)
                await store.deliveries.close_delivery(
                    "invoice:INV-0000001", token, states=accepted(), log=entry, lease=0.0, next_at=None
                )
            history = await store.deliveries.delivery_log("invoice:INV-0000001")
            states = await store.deliveries.recipient_states("invoice:INV-0000001")
            reopened = await store.deliveries.open_delivery("invoice:INV-0000001", 30)
            return history, states, reopened

    history, states, reopened = asyncio.run(scenario())
    # Then the history holds the attempt once, the recipient is accepted, and the lock is free
    assert len(history) == 1
    assert states[ELS].state == Outcome.ACCEPTED
    assert reopened is not None and reopened.delivery is not None
    assert "closed_by" not in reopened.delivery


def test_an_outcome_is_recorded_even_when_the_lock_ran_out_before_it_was_written(redis_url, redis_client):
    # Given an attempt whose lock expired while Redis was away (the relay had accepted the email)
    async def scenario():
        async with Store.open(redis_url, prefix="close2") as store:
            token = await _opened(store, "invoice:INV-0000002")
            redis_client.delete("close2:lock:delivery:invoice:INV-0000002")
            # When its outcome is written at last
            await store.deliveries.close_delivery(
                "invoice:INV-0000002", token, states=accepted(), log=None, lease=0.0, next_at=None
            )
            return await store.deliveries.recipient_states("invoice:INV-0000002")

    # Then the recipient is accepted: never sent again for want of a record
    assert asyncio.run(scenario())[ELS].state == Outcome.ACCEPTED
