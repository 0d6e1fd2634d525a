"""The store's invoice documents: `Documents`, the `documents` part of `worker.store.store.Store`.

An invoice's PDF and e-invoice XML are built once, when its email is first built, and kept: every
retry, a re-sent copy (`resend`) and `document` use these bytes. They are sealed like built
messages (they hold names, addresses and amounts). An invoice whose e-invoice broke a rule at the
gate has no documents but a `held` entry naming the rules, until a re-run builds them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from worker.domain.model import Account, Attachment
from worker.store import account_records, invoice_records
from worker.store.cipher import SealedValueUnreadable, SealingKeys, required
from worker.store.connection import Connection
from worker.store.packed_json import PackedUnreadable, pack, unpack

PDF_TYPE = "application/pdf"
XML_TYPE = "application/xml"


@dataclass(frozen=True)
class InvoiceDocuments:
    """An invoice's documents: its PDF, and its e-invoice XML when it has one (`einvoice` names
    the format: facturx, ubl, xrechnung, or none); `reason` says why that format."""

    einvoice: str
    reason: str
    pdf: Attachment
    #: The e-invoice XML: embedded in the PDF (Factur-X) or sent beside it (UBL, XRechnung).
    xml: Attachment | None = None

    @property
    def embedded(self) -> bool:
        return self.einvoice == "facturx"

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """What the email carries: the PDF, and the XML when it is not already inside the PDF
        (no duplicate XML next to an embedded one)."""
        if self.xml is None or self.embedded:
            return (self.pdf,)
        return (self.pdf, self.xml)


class Documents:
    def __init__(self, db: Connection, sealing: SealingKeys | None = None) -> None:
        self.db = db
        self.keys = db.keys
        self.sealing = sealing

    def _bound_to(self, number: str, field: str) -> str:
        return f"{self.keys.invoice_documents(number)}#{field}"

    async def keep(
        self, number: str, documents: InvoiceDocuments, *, account: Account, locale: str
    ) -> InvoiceDocuments:
        """Keep the invoice's first documents, with what they were built from (the account as it
        was then, the locale): after retention drops the files, they are built again from that,
        byte for byte. Returns those kept (another worker's, if it kept them first: builds are
        deterministic, so they are the same files).

        Raises:
          SealingKeyMissing: no SEALING_KEY is set.
        """
        sealing = required(self.sealing, "storing an invoice's documents")
        key = self.keys.invoice_documents(number)
        meta = {
            "einvoice": documents.einvoice,
            "reason": documents.reason,
            "pdf": documents.pdf.filename,
            "xml": documents.xml.filename if documents.xml else None,
        }
        source = _source_record(account, locale)
        pipe = self.db.transaction()
        # All or nothing in one MULTI: a second writer's HSETNX finds every field taken.
        pipe.hsetnx(key, "meta", json.dumps(meta))
        pipe.hsetnx(key, "source", sealing.seal(source, bound_to=self._bound_to(number, "source")))
        pipe.hsetnx(key, "pdf", sealing.seal(documents.pdf.data, bound_to=self._bound_to(number, "pdf")))
        if documents.xml is not None:
            pipe.hsetnx(key, "xml", sealing.seal(documents.xml.data, bound_to=self._bound_to(number, "xml")))
        pipe.hdel(key, "held", "dropped_at")  # dropped_at: written by an earlier release
        _, _, first, *_ = await pipe.execute()
        if first:  # ours are kept: no need to read ~45 KB back and unseal it
            return documents
        kept = await self.load(number)
        assert kept is not None
        return kept

    async def source(self, number: str) -> tuple[Account, str] | None:
        """What the kept documents were first built from: the account then, and the locale
        (from the documents hash, or, past retention, from the invoice's key).

        Raises:
          SealingKeyMissing, SealedValueUnreadable: as `load`.
        """
        raw, kept = await asyncio.gather(  # one round trip
            self.db.command("hget", self.keys.invoice_documents(number), "source"), self._folded(number)
        )
        record = None
        if raw is None and kept is not None:
            raw, record = kept.source, kept.record
        if raw is None:
            return None
        sealing = required(self.sealing, "reading an invoice's documents")
        return _read_source(sealing.open(raw, bound_to=self._bound_to(number, "source")), record)

    async def _folded(self, number: str) -> invoice_records.Kept | None:
        """What retention folded into the invoice's key (None: nothing, or no such invoice)."""
        raw = await self.db.command("get", self.keys.invoice(number))
        if raw is None:
            return None
        kept = invoice_records.split(raw)
        return kept if kept.meta is not None else None

    async def drop(self, number: str) -> int:
        """Retention: drop the files, keeping their description and what builds them again, in
        the invoice's own key (`invoice_records.fold`, fold_documents.lua: the documents hash
        goes). Documents built again after that are dropped whole: the invoice keeps the first
        fold, from which they were built. When the fold cannot be made (no invoice, or a build
        or a hold came in between), the hash is written anew without the files (drop_fields.lua:
        it can then be compact). Documents kept before that was kept with them (no `source`) are
        left whole: built again from today's account, they could differ from those sent.
        Returns the bytes freed (0: none dropped)."""
        key, invoice_key = self.keys.invoice_documents(number), self.keys.invoice(number)
        (meta, source, held), invoice = await asyncio.gather(  # one round trip
            self.db.command("hmget", key, "meta", "source", "held"), self.db.command("get", invoice_key)
        )
        if meta is not None and source is not None and held is None and invoice is not None:
            # An invoice folded already keeps its fold: these documents were built from it.
            kept = invoice.startswith(invoice_records.KEPT_MARKER)
            folded = (
                invoice if kept else invoice_records.fold(invoice, meta, self._folded_source(number, source, invoice))
            )
            args = [meta, source, invoice, folded]
            freed = int(await self.db.script("fold_documents", keys=[key, invoice_key], args=args))
            if freed >= 0:
                return freed
        return int(await self.db.script("drop_fields", keys=[key], args=["source", 2, "pdf", "xml"]))

    def _folded_source(self, number: str, source: bytes, invoice: bytes) -> bytes:
        """The sealed `source` as the invoice's key keeps it past retention: deflated with the
        invoice's JSON (`_FOLDED_SOURCE_MARKER`); as it is when it cannot be opened here or was
        kept as JSON (by an earlier release)."""
        if self.sealing is None:
            return source
        bound_to = self._bound_to(number, "source")
        try:
            plain = self.sealing.open(source, bound_to=bound_to)
        except SealedValueUnreadable:
            return source
        if not plain.startswith(_SOURCE_MARKER):
            return source
        account, locale = _read_source(plain, None)
        folded = _FOLDED_SOURCE_MARKER + locale.encode() + b"\n"
        folded += pack(account_records.RECORDS.adapter.dump_json(account), _folded_dictionary(invoice))
        return self.sealing.seal(folded, bound_to=bound_to)

    async def load(self, number: str) -> InvoiceDocuments | None:
        """The invoice's documents as kept, or None (not built yet, or held).

        Raises:
          SealingKeyMissing: no SEALING_KEY is set.
          SealedValueUnreadable: no configured key opens them.
        """
        return self._documents(number, await self.db.command("hgetall", self.keys.invoice_documents(number)))

    async def summary(self, number: str) -> dict[str, Any] | None:
        """What `status` shows, read without keys: the format and why, the files, or the hold."""
        (meta, held), kept = await asyncio.gather(  # one round trip
            self.db.command("hmget", self.keys.invoice_documents(number), "meta", "held"), self._folded(number)
        )
        if meta is None and kept is not None:  # past retention
            meta = kept.meta
        if meta is None and held is None:
            return None
        out: dict[str, Any] = {}
        if meta is not None:
            info = json.loads(meta)
            embedded = info["einvoice"] == "facturx"
            out = {
                "einvoice": info["einvoice"],
                "reason": info["reason"],
                # The files attached; Factur-X's XML travels inside the PDF, as factur-x.xml.
                "files": [name for name in (info["pdf"], None if embedded else info["xml"]) if name],
                "embedded": "factur-x.xml" if embedded else None,
            }
        if held is not None:
            out["held"] = json.loads(held)
        return out

    async def hold(self, number: str, held: dict[str, Any]) -> None:
        """Record why the gate held the invoice's documents (the rules broken, by id)."""
        await self.db.command("hset", self.keys.invoice_documents(number), "held", json.dumps(held))

    async def held(self, number: str) -> dict[str, Any] | None:
        raw = await self.db.command("hget", self.keys.invoice_documents(number), "held")
        return json.loads(raw) if raw is not None else None

    def _documents(self, number: str, raw: dict[bytes, bytes]) -> InvoiceDocuments | None:
        if b"meta" not in raw or b"pdf" not in raw:  # not built yet, held, or dropped (retention)
            return None
        sealing = required(self.sealing, "reading an invoice's documents")
        meta = json.loads(raw[b"meta"])
        pdf = Attachment(meta["pdf"], PDF_TYPE, sealing.open(raw[b"pdf"], bound_to=self._bound_to(number, "pdf")))
        xml = None
        if meta["xml"] is not None:
            xml = Attachment(meta["xml"], XML_TYPE, sealing.open(raw[b"xml"], bound_to=self._bound_to(number, "xml")))
        return InvoiceDocuments(meta["einvoice"], meta["reason"], pdf, xml)

    # -- re-sent copies ----------------------------------------------------------------------------

    async def add_copy(self, number: str, delivery_id: str) -> None:
        await self.db.command("rpush", self.keys.invoice_copies(number), delivery_id)

    async def copies(self, number: str) -> list[str]:
        return [m.decode() for m in await self.db.command("lrange", self.keys.invoice_copies(number), 0, -1)]

    async def next_copy(self, number: str) -> int:
        """A number for the invoice's next re-sent copy (1, 2, ...), never the same twice."""
        return int(await self.db.command("incr", self.keys.invoice_copy_seq(number)))


#: Marks a source kept as a record: the locale, a newline, the account's record. Sources kept
#: before (JSON: `{"account": ..., "locale": ...}`) start with "{" and are read as they are.
_SOURCE_MARKER = b"s1"


def _source_record(account: Account, locale: str) -> bytes:
    """What documents were built from, before sealing: ~380 B of JSON as ~100 B."""
    return _SOURCE_MARKER + locale.encode() + b"\n" + account_records.encode(account)


#: Marks a source folded into its invoice's key by retention (since 2026-12-08): the locale, a
#: newline, the account's JSON deflated with the account records' dictionary and then the
#: invoice's own JSON, which names the account, its name, country and billing contact again:
#: ~110 B of record as ~60 B (the bench's accounts, median).
_FOLDED_SOURCE_MARKER = b"s2"


def _folded_dictionary(invoice: bytes) -> bytes:
    """The dictionary of an "s2" source kept with the invoice record `invoice`."""
    return account_records.DICTIONARY + invoice_records.written_json(invoice)


def _read_source(plain: bytes, invoice: bytes | None) -> tuple[Account, str]:
    """The account and locale of an opened source; `invoice`, the record of the invoice whose
    key holds it (past retention), is the dictionary of an "s2" source."""
    if plain.startswith(b"{"):
        source = json.loads(plain)
        return account_records.RECORDS.adapter.validate_python(source["account"]), source["locale"]
    if plain.startswith(_FOLDED_SOURCE_MARKER):
        if invoice is None:
            raise SealedValueUnreadable("a folded source is read without the invoice it was folded with")
        locale, _, packed = plain.removeprefix(_FOLDED_SOURCE_MARKER).partition(b"\n")
        try:
            account = unpack(packed, _folded_dictionary(invoice))
        except PackedUnreadable as exc:
            raise SealedValueUnreadable(f"a folded source {exc}") from None
        return account_records.RECORDS.adapter.validate_json(account), locale.decode()
    locale, _, account = plain.removeprefix(_SOURCE_MARKER).partition(b"\n")
    return account_records.decode(account), locale.decode()
