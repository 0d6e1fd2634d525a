"""An invoice's documents in Redis (worker/store/documents.py): kept once, sealed at rest, and
a hold that the first kept documents clear."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

from pydantic import TypeAdapter

from tests.support.accounts import ACME_BEFORE_DOCUMENT_FIELDS
from tests.support.legal_invoices import standard_invoice
from worker.domain.model import Account, Attachment
from worker.store import invoice_records
from worker.store.cipher import SealingKeys
from worker.store.documents import PDF_TYPE, XML_TYPE, InvoiceDocuments
from worker.store.store import Store

PREFIX = "docs-test"
KEY = SealingKeys(bytes(range(32)))
#: The account the documents were built from, kept with them (sealed) for a rebuild.
ACCOUNT = TypeAdapter(Account).validate_python(ACME_BEFORE_DOCUMENT_FIELDS)


def keep(store: Store, kept: InvoiceDocuments):
    return store.documents.keep("INV-1", kept, account=ACCOUNT, locale="nl-NL")


def documents(pdf: bytes) -> InvoiceDocuments:
    return InvoiceDocuments(
        "ubl",
        "NL's policy is UBL (Peppol)",
        Attachment("INV-1.pdf", PDF_TYPE, pdf),
        Attachment("INV-1.xml", XML_TYPE, b"<Invoice>Acme B.V.</Invoice>"),
    )


def run(redis_url: str, action):
    async def go():
        async with Store.open(redis_url, prefix=PREFIX, sealing=KEY) as store:
            return await action(store)

    return asyncio.run(go())


def test_the_first_documents_kept_are_the_ones_every_later_reader_gets(redis_client, redis_url) -> None:
    # Given documents kept for an invoice, and a second build kept after them
    first = run(redis_url, lambda store: keep(store, documents(b"%PDF first")))
    second = run(redis_url, lambda store: keep(store, documents(b"%PDF second")))
    # Then the second keep returns the first documents, and so does every load
    assert first.pdf.data == second.pdf.data == b"%PDF first"
    loaded = run(redis_url, lambda store: store.documents.load("INV-1"))
    assert loaded == documents(b"%PDF first")


def test_documents_are_sealed_at_rest(redis_client, redis_url) -> None:
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    stored = redis_client.hgetall(f"{PREFIX}:invoice:INV-1:documents")
    assert b"Acme B.V." not in stored[b"pdf"] and b"Acme B.V." not in stored[b"xml"]


def test_a_hold_shows_in_the_summary_until_documents_are_kept(redis_client, redis_url) -> None:
    held = {"at": 1.0, "einvoice": "ubl", "rules": [{"rule_id": "BR-AE-02", "text": "t", "at": "BT-48", "detail": ""}]}
    run(redis_url, lambda store: store.documents.hold("INV-1", held))
    assert run(redis_url, lambda store: store.documents.summary("INV-1")) == {"held": held}
    assert run(redis_url, lambda store: store.documents.load("INV-1")) is None
    run(redis_url, lambda store: keep(store, documents(b"%PDF")))
    summary = run(redis_url, lambda store: store.documents.summary("INV-1"))
    assert summary == {
        "einvoice": "ubl",
        "reason": "NL's policy is UBL (Peppol)",
        "files": ["INV-1.pdf", "INV-1.xml"],
        "embedded": None,
    }


def test_retention_drops_the_files_and_keeps_what_builds_them_again(redis_client, redis_url) -> None:
    # Given documents kept
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    # When retention drops them
    freed = run(redis_url, lambda store: store.documents.drop("INV-1"))
    # Then their bytes are gone, the summary stays, and what they were built from is kept, sealed
    assert freed > len(b"%PDF Acme B.V.")
    assert run(redis_url, lambda store: store.documents.load("INV-1")) is None
    assert run(redis_url, lambda store: store.documents.summary("INV-1"))["files"] == ["INV-1.pdf", "INV-1.xml"]
    assert run(redis_url, lambda store: store.documents.source("INV-1")) == (ACCOUNT, "nl-NL")
    stored = redis_client.hgetall(f"{PREFIX}:invoice:INV-1:documents")
    assert b"pdf" not in stored and b"Acme B.V." not in stored[b"source"]
    # And dropping again frees nothing; keeping them again (a rebuild) brings them back
    assert run(redis_url, lambda store: store.documents.drop("INV-1")) == 0
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    assert run(redis_url, lambda store: store.documents.load("INV-1")) == documents(b"%PDF Acme B.V.")


def test_what_documents_were_built_from_is_kept_small_and_the_json_of_before_still_reads(
    redis_client, redis_url
) -> None:
    # Given documents kept now, and another invoice's kept as the release before kept them:
    # the account and locale as sealed JSON
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    old = json.dumps({"account": TypeAdapter(Account).dump_python(ACCOUNT, mode="json"), "locale": "de-DE"})
    key = f"{PREFIX}:invoice:INV-2:documents"
    redis_client.hset(key, "source", KEY.seal(old.encode(), bound_to=f"{key}#source"))
    # Then both read back as they were built from
    assert run(redis_url, lambda store: store.documents.source("INV-1")) == (ACCOUNT, "nl-NL")
    assert run(redis_url, lambda store: store.documents.source("INV-2")) == (ACCOUNT, "de-DE")
    # And the one kept now takes less than half the bytes of the JSON of before, sealed
    kept = redis_client.hget(f"{PREFIX}:invoice:INV-1:documents", "source")
    assert len(kept) * 2 < len(redis_client.hget(key, "source"))


def store_invoice(redis_client) -> bytes:
    record = invoice_records.encode(replace(standard_invoice(), number="INV-1"))
    redis_client.set(f"{PREFIX}:invoice:INV-1", record)
    return record


def test_past_retention_what_builds_the_documents_again_moves_into_the_invoice(redis_client, redis_url) -> None:
    # Given an invoice and its documents kept
    record = store_invoice(redis_client)
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    summary = run(redis_url, lambda store: store.documents.summary("INV-1"))
    source = redis_client.hget(f"{PREFIX}:invoice:INV-1:documents", "source")
    # When retention drops them
    freed = run(redis_url, lambda store: store.documents.drop("INV-1"))
    # Then the documents hash is gone, its description and source are in the invoice's key, and
    # every reader reads them as before: the summary, the source, the invoice itself
    assert freed > len(b"%PDF Acme B.V.") and not redis_client.exists(f"{PREFIX}:invoice:INV-1:documents")
    folded = redis_client.get(f"{PREFIX}:invoice:INV-1")
    assert invoice_records.split(folded).record == record and b"Acme B.V." not in folded
    # (the source sealed anew, deflated with the invoice's JSON, which names the account again)
    assert len(invoice_records.split(folded).source or b"") < len(source) - 15
    assert run(redis_url, lambda store: store.documents.load("INV-1")) is None
    assert run(redis_url, lambda store: store.documents.summary("INV-1")) == summary
    assert run(redis_url, lambda store: store.documents.source("INV-1")) == (ACCOUNT, "nl-NL")
    loaded = run(redis_url, lambda store: store.deliveries.load_invoice("INV-1"))
    assert loaded == replace(standard_invoice(), number="INV-1")
    # And dropping again frees nothing; documents built again are kept, then dropped whole, the
    # invoice keeping the fold they were built from
    assert run(redis_url, lambda store: store.documents.drop("INV-1")) == 0
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    assert run(redis_url, lambda store: store.documents.load("INV-1")) == documents(b"%PDF Acme B.V.")
    assert run(redis_url, lambda store: store.documents.drop("INV-1")) > 0
    assert not redis_client.exists(f"{PREFIX}:invoice:INV-1:documents")
    assert redis_client.get(f"{PREFIX}:invoice:INV-1") == folded


def test_a_fold_that_raced_a_change_does_nothing_and_the_files_still_go(redis_client, redis_url) -> None:
    # Given an invoice and its documents kept, read by retention
    record = store_invoice(redis_client)
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    key = f"{PREFIX}:invoice:INV-1:documents"
    meta, source = redis_client.hmget(key, "meta", "source")
    folded = invoice_records.fold(record, meta, source)
    # When a hold is written before its fold runs
    redis_client.hset(key, "held", "{}")
    done = run(
        redis_url,
        lambda store: store.db.script(
            "fold_documents", keys=[key, f"{PREFIX}:invoice:INV-1"], args=[meta, source, record, folded]
        ),
    )
    # Then the fold changes nothing; nor does one whose invoice changed since it was read
    assert done == -1 and redis_client.get(f"{PREFIX}:invoice:INV-1") == record
    assert b"pdf" in redis_client.hgetall(key)
    redis_client.hdel(key, "held")
    stale = run(
        redis_url,
        lambda store: store.db.script(
            "fold_documents", keys=[key, f"{PREFIX}:invoice:INV-1"], args=[meta, source, b"i1 before", folded]
        ),
    )
    assert stale == -1 and redis_client.get(f"{PREFIX}:invoice:INV-1") == record
    redis_client.hset(key, "held", "{}")
    # And retention still drops the files, keeping the rest in the hash as before folds existed
    assert run(redis_url, lambda store: store.documents.drop("INV-1")) > 0
    assert set(redis_client.hgetall(key)) == {b"meta", b"source", b"held"}
    assert redis_client.get(f"{PREFIX}:invoice:INV-1") == record


def test_an_invoice_folded_by_the_release_before_reads_its_source_as_it_was_kept(redis_client, redis_url) -> None:
    # Given an invoice whose documents were folded into its key as the release of 2026-12-07
    # folded them: the source moved as it was sealed
    record = store_invoice(redis_client)
    run(redis_url, lambda store: keep(store, documents(b"%PDF Acme B.V.")))
    kept = redis_client.hgetall(f"{PREFIX}:invoice:INV-1:documents")
    redis_client.set(f"{PREFIX}:invoice:INV-1", invoice_records.fold(record, kept[b"meta"], kept[b"source"]))
    redis_client.delete(f"{PREFIX}:invoice:INV-1:documents")
    # Then what the documents were built from reads back, and dropping again changes nothing
    assert run(redis_url, lambda store: store.documents.source("INV-1")) == (ACCOUNT, "nl-NL")
    assert run(redis_url, lambda store: store.documents.drop("INV-1")) == 0
    assert invoice_records.split(redis_client.get(f"{PREFIX}:invoice:INV-1")).source == kept[b"source"]
