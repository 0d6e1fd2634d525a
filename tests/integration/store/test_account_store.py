"""How accounts are kept in Redis: the invoice document's fields (legal name, address, VAT id,
buyer reference, Peppol id, e-invoice choice) survive the store, and an account stored before
they existed still loads, with their defaults."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from tests.support.accounts import ACME_BEFORE_DOCUMENT_FIELDS
from tests.support.billing_examples import three_year_order
from tests.support.contract_events import account_updated
from worker.contract.events import parse_event
from worker.domain.model import Account, Address
from worker.store.keys import Keys
from worker.store.store import Store

PREFIX = "acct-test"
NOW = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

#: An account as `account.updated` stored it before issue 13: no document fields at all.
OLD_SHAPE = ACME_BEFORE_DOCUMENT_FIELDS


def document_account() -> Account:
    """The account an `account.updated` with every document field makes."""
    event = account_updated(
        legal_name="Acme Nederland B.V.",
        address={
            "lines": ["Damrak 1", "3e verdieping"],
            "city": "Amsterdam",
            "postal_code": "1012 LG",
            "country": "NL",
        },
        vat_id="NL004495445B01",
        buyer_reference="INK-2026-0042",
        peppol_id="9944:NL004495445B01",
        einvoice="ubl",
    )
    account: Account = parse_event(event).data.to_model()
    return account


def test_an_account_with_every_document_field_reads_back_as_it_was_saved(redis_url, redis_client):
    # Given an account.updated with every field of the invoice document
    account = document_account()
    assert account.address == Address(
        lines=("Damrak 1", "3e verdieping"), city="Amsterdam", country="NL", postal_code="1012 LG"
    )

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            # When it is saved, and an order of the account is booked
            await store.orders.save_account(account, NOW)
            await store.orders.save_order(three_year_order(order_id="O-1"))
            return (
                await store.orders.load_account("A-100"),
                await store.orders.load_window("O-1"),
                await store.orders.load_subscription("S-1"),
            )

    loaded, window, subscription = asyncio.run(scenario())
    # Then every read of it (the account, a window closing, a later period) has every field back
    assert loaded == account
    assert window is not None and window.account == account
    assert subscription.account == account
    assert (loaded.legal_name, loaded.vat_id, loaded.buyer_reference, loaded.peppol_id, loaded.einvoice) == (
        "Acme Nederland B.V.",
        "NL004495445B01",
        "INK-2026-0042",
        "9944:NL004495445B01",
        "ubl",
    )


def test_an_account_stored_before_the_document_fields_loads_with_their_defaults(redis_url, redis_client):
    # Given an account in Redis in the shape stored before the document fields existed
    keys = Keys(PREFIX)
    redis_client.hset(keys.account("A-100"), mapping={"occurred_at": NOW.timestamp(), "body": json.dumps(OLD_SHAPE)})

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            await store.orders.save_order(three_year_order(order_id="O-1"))
            return await store.orders.load_account("A-100"), await store.orders.load_window("O-1")

    # When the worker loads it, directly and as a window closing reads it
    loaded, window = asyncio.run(scenario())
    # Then it loads, its legal name is its name, it has no address, VAT id, buyer reference or
    # Peppol id, and its e-invoice is its country's ("auto")
    assert loaded is not None and window is not None and window.account == loaded
    assert loaded.name == loaded.legal_name == "Acme B.V."
    assert (loaded.address, loaded.vat_id, loaded.buyer_reference, loaded.peppol_id) == (None, None, None, None)
    assert loaded.einvoice == "auto"
    assert loaded.dunning is not None and loaded.dunning.email == "ar@acme.example"


def test_an_older_snapshot_with_the_document_fields_does_not_replace_a_later_one(redis_url, redis_client):
    # Given the account saved as it was at 09:00, without its VAT id
    later = Account("A-100", "Acme B.V.", "NL", "commercial")
    earlier = document_account()

    async def scenario():
        async with Store.open(redis_url, prefix=PREFIX) as store:
            await store.orders.save_account(later, NOW.replace(hour=9))
            # When a snapshot of 08:00 with the document fields arrives late
            kept = await store.orders.save_account(earlier, NOW)
            return kept, await store.orders.load_account("A-100")

    kept, loaded = asyncio.run(scenario())
    # Then the later snapshot stands, as for every account field (events arrive out of order)
    assert kept is False and loaded == later and loaded.vat_id is None
