"""`create_delivery`: the one function that creates a delivery (all kinds but the invoice, which
the settle script creates from the same addressing). The stored format is what it always was."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from tests.support.harness import make_settings
from worker.domain.model import Account, Contact
from worker.emails.kinds import CARD_FAILED, REDEMPTION
from worker.services.context import ServiceContext
from worker.services.deliveries import create_delivery
from worker.store import recipient_records

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ELS = Contact("Els de Vries", "els@acme.example", "nl-NL")
DUNNING = Contact("Accounts Receivable", "ar@acme.example")
ACCOUNT = Account("A-100", "Acme B.V.", "NL", "commercial", dunning=DUNNING)


def test_a_delivery_is_stored_addressed_and_due_once(redis_client, redis_url, smtp_server):
    app = ServiceContext.from_settings(make_settings(redis_url, smtp_server.port), clock=lambda: NOW)
    context = {"notice": {"invoice_number": "INV-0000001"}, "recipient": {"name": ELS.name, "email": ELS.email}}

    async def scenario() -> tuple[bool, bool]:
        try:
            first = await create_delivery(
                app, CARD_FAILED, "card_failed:evt-1", key="INV-0000001", to=ELS, account=ACCOUNT, context=context
            )
            again = await create_delivery(
                app, REDEMPTION, "card_failed:evt-1", key="other", to=DUNNING, account=None, context={}
            )
            return first, again
        finally:
            await app.aclose()

    first, again = asyncio.run(scenario())

    # The first call creates it; the same id again has no effect
    assert (first, again) == (True, False)
    stored = {k.decode(): v.decode() for k, v in redis_client.hgetall("iw:delivery:card_failed:evt-1").items()}
    assert stored == {
        "kind": "card_failed",
        "key": "INV-0000001",
        "created_at": str(NOW.timestamp()),
        "recipients": json.dumps(
            {
                "to": [{"name": "Els de Vries", "email": "els@acme.example"}],
                "cc": [{"name": "Accounts Receivable", "email": "ar@acme.example"}],
            }
        ),
        "locale": "nl-NL",
        "context": json.dumps(context),
    }
    stored = redis_client.hgetall("iw:delivery:card_failed:evt-1:rcpt").items()
    states = {k.decode(): recipient_records.decode(k.decode(), v) for k, v in stored}
    assert {a: (s.role, s.state) for a, s in states.items()} == {
        "els@acme.example": ("to", "pending"),
        "ar@acme.example": ("cc", "pending"),
    }
    assert redis_client.zscore("iw:due", "deliver:card_failed:evt-1") == NOW.timestamp()
    assert redis_client.lrange("iw:deliveries-created", 0, -1) == [f"{NOW.timestamp()!r} card_failed:evt-1".encode()]
