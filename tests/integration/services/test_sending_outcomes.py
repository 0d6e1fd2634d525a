"""`deliver` when Redis goes away while the relay holds the message: the SMTP outcome is kept in
the process and written once Redis is back, and nothing else is sent before it is.

Redis is the test's own (`appendfsync always`), stopped and started on the same port; the relay
holds each DATA reply for a second, so Redis is gone when the reply comes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from tests.support.harness import make_settings
from worker.domain.model import Contact
from worker.emails.kinds import BOUNCE_NOTICE
from worker.services.context import ServiceContext
from worker.services.deliveries import create_delivery
from worker.services.sending import deliver
from worker.store import recipient_records
from worker.store.due_members import deliver_member

LEASE_S = 30.0


async def new_delivery(app: ServiceContext, n: int) -> tuple[str, float]:
    """A bounce notice to contact n (its context needs no other record), claimed: (id, lease)."""
    delivery_id = f"bounce_notice:test-{n}"
    contact = Contact("Jan Jansen", f"jan{n}@acme.example", "en-US")
    context = {
        "recipient": {"name": contact.name, "email": contact.email, "locale": "en-US"},
        "bounced_address": f"els{n}@acme.example",
        "account_name": "Acme B.V.",
        "status": "5.1.1",
        "reported_on": "2026-11-21",
    }
    await create_delivery(app, BOUNCE_NOTICE, delivery_id, key=contact.email, to=contact, account=None, context=context)
    lease = await app.store.due.claim_member(deliver_member(delivery_id), app.clock().timestamp(), LEASE_S)
    assert lease is not None
    return delivery_id, lease


def test_an_outcome_redis_did_not_take_is_written_when_it_is_back_and_nothing_is_sent_before(
    durable_redis, slow_relay, caplog
):
    caplog.set_level(logging.INFO, logger="worker.services.outcomes")
    settings = make_settings(durable_redis.url(), slow_relay.port, due_lease_s=LEASE_S, redis_recovery_grace_s=0.2)
    app = ServiceContext.from_settings(settings, clock=lambda: datetime.now(UTC))

    async def scenario() -> dict[str, object]:
        try:
            first, first_lease = await new_delivery(app, 1)
            second, second_lease = await new_delivery(app, 2)
            # Given a send the relay holds, When Redis stops meanwhile (before the relay's 250)
            sending = asyncio.create_task(deliver(app, first, first_lease))
            await asyncio.sleep(0.4)
            await asyncio.to_thread(durable_redis.stop)
            outcome = await asyncio.wait_for(sending, 20)
            held_while_down = app.outcomes.held
            # And another delivery is due meanwhile
            next_send = asyncio.create_task(deliver(app, second, second_lease))
            await asyncio.sleep(1.5)
            sent_while_held = len(slow_relay.messages)
            waiting_while_held = not next_send.done()
            # When Redis is back
            await asyncio.to_thread(durable_redis.start)
            await asyncio.wait_for(next_send, 20)
            return {
                "outcome": outcome,
                "held_while_down": held_while_down,
                "sent_while_held": sent_while_held,
                "waiting_while_held": waiting_while_held,
                "held_after": app.outcomes.held,
            }
        finally:
            await app.aclose()

    seen = asyncio.run(scenario())

    # Then the first send's outcome (the relay's 250) was held, not dropped
    assert seen["outcome"] == {"jan1@acme.example": "accepted"}
    assert seen["held_while_down"] == 1
    # And nothing else was sent while it was held
    assert seen["waiting_while_held"] is True
    assert seen["sent_while_held"] == 1
    # And once Redis is back it is written: the recipient is `accepted`, not left `sending`
    assert seen["held_after"] == 0
    with durable_redis.client() as client:
        raw = client.hget("iw:delivery:bounce_notice:test-1:rcpt", "jan1@acme.example")
        assert recipient_records.decode("jan1@acme.example", raw).state == "accepted"
        assert client.get("iw:lock:delivery:bounce_notice:test-1") is None  # released by the write
    # And each notice went out once
    assert sorted(rcpt for m in slow_relay.messages for rcpt in m.rcpt_tos) == [
        "jan1@acme.example",
        "jan2@acme.example",
    ]
    # And the log said so once, naming the server, and once that sending resumed
    said = [r.getMessage() for r in caplog.records if r.name == "worker.services.outcomes"]
    assert [m for m in said if "unreachable" in m] == [
        f"Redis unreachable at redis://127.0.0.1:{durable_redis.port}/0 ({_reason(said)}): "
        "holding 1 outcomes, sending paused"
    ]
    assert [m for m in said if "reachable again" in m] == [
        f"Redis reachable again at redis://127.0.0.1:{durable_redis.port}/0: 1 held outcomes written, sending resumed"
    ]


def _reason(said: list[str]) -> str:
    """The reason the warning quotes (the client's error: it varies with where the stop hit)."""
    line = next(m for m in said if "unreachable" in m)
    return line.split(" (", 1)[1].split("): holding", 1)[0]
