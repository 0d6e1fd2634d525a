"""The store's invoices, deliveries, recipient states and suppressed addresses: `Deliveries`, the
`deliveries` part of `worker.store.store.Store`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from worker.domain.delivery import RecipientState
from worker.domain.model import Invoice
from worker.emails.dkim import dkim_signature_of
from worker.store import delivery_records, invoice_records, recipient_records
from worker.store.cipher import SealedValueUnreadable, SealingKeys, required
from worker.store.connection import Connection
from worker.store.due_members import deliver_member, period_member, remind_member
from worker.store.keys import pattern_of
from worker.store.orders import SETTLED_PREFIX

#: Invoice numbers: a prefix and a zero-padded sequence, allocated without gaps.
INVOICE_NUMBER_FORMAT = "INV-%07d"
#: Credit notes have a number series of their own, gapless like the invoices'.
CREDIT_NOTE_NUMBER_FORMAT = "CN-%07d"


def delivery_id_pattern(kind: str) -> str:
    """The ids of the deliveries of `kind` as a pattern for their key (the invoice number), made
    as `worker.emails.kinds.EmailKind.delivery_id` makes them: "<kind>:<key>"."""
    return pattern_of(lambda key: f"{kind}:{key}")


@dataclass(frozen=True)
class Settlement:
    """How a settled invoice is delivered: its recipients, locale and their first states; when
    (`now`), and until when the settler holds the new delivery's due member (`lease`)."""

    recipients: dict[str, list[dict[str, str]]]
    locale: str
    states: dict[str, RecipientState]
    now: datetime
    lease: float
    #: When the invoice's first payment reminder falls due (Unix seconds), or None for none.
    first_reminder_at: float | None = None
    #: The delivery's stored context (for its kind's context builder), or None for none.
    context: dict[str, Any] | None = None


@dataclass(frozen=True)
class OpenDelivery:
    """A delivery whose lock this worker holds (`token`); `delivery` is None when it is gone."""

    token: str
    delivery: dict[str, Any] | None
    states: dict[str, RecipientState]


def _delivery_from(raw: dict[bytes, bytes]) -> dict[str, Any] | None:
    if not raw:
        return None
    out: dict[str, Any] = {k.decode(): v for k, v in raw.items()}
    out.pop("closed_by", None)  # bookkeeping of close_attempt.lua
    for name in ("kind", "key", "locale", "message_id"):
        if name in out:
            out[name] = out[name].decode()
    out["recipients"] = json.loads(out["recipients"])
    out["context"] = json.loads(out["context"]) if "context" in out else {}
    out["created_at"] = float(out["created_at"])
    return out


#: Entries of the list of created deliveries read per round trip when `since` narrows them.
SINCE_PAGE = 1000
#: How far apart workers' clocks may be (s): see `Deliveries._created_since`.
CLOCK_SKEW_S = 600.0


def _created(entry: bytes) -> tuple[float, str]:
    """(created at, delivery id) of an entry of `Keys.created_deliveries` (an id may hold spaces)."""
    at, _, delivery_id = entry.partition(b" ")
    return float(at), delivery_id.decode()


def message_digest(message: bytes) -> bytes:
    """What retention keeps of a dropped message to tell a rebuild that is the very same bytes
    (16 bytes of SHA-256: a check of our own builds, not a defence against forgery)."""
    return hashlib.sha256(message).digest()[:16]


def _states_from(raw: dict[bytes, bytes], folded: delivery_records.Unfolded) -> dict[str, RecipientState]:
    """The recipients' states their hash `raw` holds, laid over those of the delivery's record."""
    merged = {**folded["states"], **raw}
    return {k.decode(): recipient_records.decode(k.decode(), v) for k, v in merged.items()}


def read_digest(fields: dict[bytes, bytes], states: dict[bytes, bytes], log: list[bytes], record: bytes | None) -> str:
    """What fold_delivery.lua compares to tell that none of a delivery's keys changed since they
    were read: the SHA-1 of each key's values (in Redis's order), each as "<length>:<bytes>",
    a "|" after each key."""
    parts: list[bytes] = []
    for values in (
        [v for pair in fields.items() for v in pair],
        [v for pair in states.items() for v in pair],
        log,
        [record or b""],
    ):
        parts += [b"%d:%s" % (len(value), value) for value in values]
        parts.append(b"|")
    return hashlib.sha1(b"".join(parts)).hexdigest()  # a change detector, as Redis's sha1hex


class Deliveries:
    """Invoices, deliveries and suppression.

    A delivery's built message is kept sealed (`worker.store.cipher`): every message, not only
    those that carry a secret, since sealing costs microseconds and the others hold names,
    addresses and amounts. A delivery read back holds `message` (the plain bytes) when there is
    one and a key opens it, or `message_unreadable` (the reason) when none does; without keys
    (`status`, which never needs the bytes) it holds neither.
    """

    def __init__(self, db: Connection, sealing: SealingKeys | None = None) -> None:
        self.db = db
        self.keys = db.keys
        #: The keys that encrypt built messages (None: storing one is refused).
        self.sealing = sealing

    def _message_bound_to(self, delivery_id: str) -> str:
        """What a delivery's sealed message is bound to: its hash's key and field."""
        return f"{self.keys.delivery(delivery_id)}#message"

    def _delivery_from(
        self, delivery_id: str, raw: dict[bytes, bytes], folded: delivery_records.Unfolded
    ) -> dict[str, Any] | None:
        """The delivery its hash `raw` holds, laid over its record (what retention left)."""
        out = _delivery_from({**folded["fields"], **raw})
        sealed = out.pop("message", None) if out is not None else None
        if out is not None and sealed is not None and self.sealing is not None:
            try:
                out["message"] = self.sealing.open(sealed, bound_to=self._message_bound_to(delivery_id))
            except SealedValueUnreadable as exc:
                out["message_unreadable"] = str(exc)
        return out

    async def settle_window(
        self,
        order_id: str,
        line_ids: tuple[str, ...],
        invoice: Invoice | None,
        settlement: Settlement,
        *,
        kind: str,
        subscription_id: str,
    ) -> str | None:
        """Settle the lines atomically, creating the invoice's delivery of `kind`, and mark the
        subscription's later periods due (they wait for the first window); returns the invoice
        number, "" when nothing was billable, or None when another worker settled them first."""
        return await self._settle(
            self.keys.activations(order_id),
            line_ids,
            invoice,
            settlement,
            kind,
            wake=period_member(subscription_id),
            settled_before=self.keys.settled(order_id),
            prefix=SETTLED_PREFIX,
            record=self.keys.order(order_id),
        )

    async def settle_periods(
        self, subscription_id: str, period_keys: tuple[str, ...], invoice: Invoice, settlement: Settlement, *, kind: str
    ) -> str | None:
        """Settle later billing periods atomically (same script as a window: no period invoiced
        twice, numbers without gaps); returns the invoice number, or None when another worker
        settled any of them first."""
        return await self._settle(
            self.keys.subscription_periods(subscription_id), period_keys, invoice, settlement, kind
        )

    async def settle_usage(
        self, subscription_id: str, month: str, invoice: Invoice, settlement: Settlement, *, kind: str
    ) -> str | None:
        """Settle a subscription's usage of a month (same script as a window: one invoice per
        month, numbers without gaps); returns the invoice number, or None when settled before."""
        return await self._settle(self.keys.usage_months(subscription_id), (month,), invoice, settlement, kind)

    async def usage_event(self, subscription_id: str, month: str, event_id: str) -> str:
        """The id of the event a month's usage is invoiced from: `event_id` when it is the first."""
        key = self.keys.usage_events(subscription_id)
        await self.db.command("hsetnx", key, month, event_id)
        first = await self.db.command("hget", key, month)
        return first.decode() if isinstance(first, bytes) else str(first)

    async def settle_credit_note(
        self, credited: str, note: Invoice, settlement: Settlement, *, kind: str
    ) -> str | None:
        """Number the credit note of invoice `credited` in its own series and create its delivery,
        once (same script as an invoice); returns its number, or None when issued before."""
        return await self._settle(
            self.keys.credit_notes,
            (credited,),
            note,
            settlement,
            kind,
            series=(self.keys.credit_note_seq, CREDIT_NOTE_NUMBER_FORMAT),
        )

    async def settle_reissue(self, credited: str, invoice: Invoice, settlement: Settlement, *, kind: str) -> str | None:
        """Number the invoice that replaces credited invoice `credited` and create its delivery,
        once; returns its number, or None when issued before."""
        return await self._settle(self.keys.reissues, (credited,), invoice, settlement, kind)

    async def credit_note_of(self, credited: str) -> str | None:
        raw = await self.db.command("hget", self.keys.credit_notes, credited)
        return raw.decode() if raw else None

    async def replacement_of(self, credited: str) -> str | None:
        raw = await self.db.command("hget", self.keys.reissues, credited)
        return raw.decode() if raw else None

    async def _settle(
        self,
        settled_key: str,
        line_ids: tuple[str, ...],
        invoice: Invoice | None,
        settlement: Settlement,
        kind: str,
        *,
        series: tuple[str, str] | None = None,
        wake: str | None = None,
        settled_before: str | None = None,
        prefix: str = "",
        record: str | None = None,
    ) -> str | None:
        # `settled_key` holds what is settled, each line under `prefix`; `settled_before` holds
        # lines settled in an earlier layout; `record`, a window's order, holds them once booked
        # (order_records.MARKER_WITH_LINES). `series`: the numbers' counter and format
        # (invoices' by default).
        seq, number_format = series or (self.keys.invoice_seq, INVOICE_NUMBER_FORMAT)
        result = await self.db.script(
            "settle_window",
            keys=[
                settled_key,
                seq,
                self.keys.due,
                self.keys.created_deliveries,
                self.keys.leased,
                settled_before or settled_key,
                record or settled_key,
            ],
            args=[
                settlement.now.timestamp(),
                number_format,
                invoice_records.encode(invoice) if invoice else "",
                json.dumps(settlement.recipients),
                json.dumps(list(line_ids)),
                settlement.locale,
                json.dumps({a: recipient_records.encode(a, s) for a, s in settlement.states.items()}),
                repr(settlement.lease),
                kind,
                delivery_id_pattern(kind),
                pattern_of(self.keys.invoice),
                pattern_of(self.keys.delivery),
                pattern_of(self.keys.delivery_recipients),
                pattern_of(deliver_member),
                repr(settlement.first_reminder_at) if settlement.first_reminder_at is not None else "",
                pattern_of(remind_member),
                json.dumps(settlement.context, default=str) if settlement.context is not None else "",
                wake or "",
                prefix,
            ],
        )
        if result is None:
            return None
        return result.decode() if isinstance(result, bytes) else str(result)

    async def load_invoice(self, number: str) -> Invoice | None:
        body = await self.db.command("get", self.keys.invoice(number))
        if not body:
            return None
        return replace(invoice_records.decode_kept(body), number=number)

    async def invoice_numbers(self) -> list[str]:
        """Every invoice number issued, in the order issued: 1 to the sequence's value, as the
        settle script allocates a number only with its invoice (no gaps). A sorted set of them
        (~100 B an invoice, kept until 2026-12-04) said no more."""
        issued = await self.db.command("get", self.keys.invoice_seq)
        return [INVOICE_NUMBER_FORMAT % n for n in range(1, int(issued or 0) + 1)]

    async def create_delivery(
        self,
        delivery_id: str,
        *,
        kind: str,
        key: str,
        recipients: dict[str, list[dict[str, str]]],
        locale: str,
        context: dict[str, Any],
        states: dict[str, RecipientState],
        now: datetime,
    ) -> bool:
        return bool(
            await self.db.script(
                "create_delivery",
                keys=[
                    self.keys.delivery(delivery_id),
                    self.keys.delivery_recipients(delivery_id),
                    self.keys.created_deliveries,
                    self.keys.due,
                    self.keys.delivery_record(delivery_id),
                ],
                args=[
                    kind,
                    key,
                    now.timestamp(),
                    json.dumps(recipients),
                    locale,
                    json.dumps(context, default=str),
                    json.dumps({a: recipient_records.encode(a, s) for a, s in states.items()}),
                    delivery_id,
                    deliver_member(delivery_id),
                ],
            )
        )

    async def load_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        raw, record = await asyncio.gather(  # one round trip
            self.db.command("hgetall", self.keys.delivery(delivery_id)),
            self.db.command("get", self.keys.delivery_record(delivery_id)),
        )
        return self._delivery_from(delivery_id, raw, delivery_records.unfold(record))

    async def open_delivery(self, delivery_id: str, lock_ttl_s: float) -> OpenDelivery | None:
        """Take the delivery's lock and read the delivery and its recipients' states, in one
        round trip; None when another worker holds the lock."""
        token = secrets.token_hex(8)
        locked, delivery, states, record = await asyncio.gather(  # one round trip, in this order
            self.db.command(
                "set", self.keys.lock(f"delivery:{delivery_id}"), token, nx=True, px=int(lock_ttl_s * 1000)
            ),
            self.db.command("hgetall", self.keys.delivery(delivery_id)),
            self.db.command("hgetall", self.keys.delivery_recipients(delivery_id)),
            self.db.command("get", self.keys.delivery_record(delivery_id)),
        )
        if not locked:
            return None
        folded = delivery_records.unfold(record)  # inflated once for both
        return OpenDelivery(token, self._delivery_from(delivery_id, delivery, folded), _states_from(states, folded))

    async def close_delivery(
        self,
        delivery_id: str,
        token: str,
        *,
        states: dict[str, RecipientState],
        log: dict[str, Any] | None,
        lease: float,
        next_at: float | None,
    ) -> None:
        """Record the attempt's outcomes (once per attempt: written again after a timeout, it
        changes nothing), set the delivery's next due time (or clear it) and release its lock,
        in one round trip."""
        # One round trip: the attempt's record (once, see close_attempt.lua), then the due time.
        await asyncio.gather(
            self.db.script(
                "close_attempt",
                keys=[
                    self.keys.delivery(delivery_id),
                    self.keys.delivery_recipients(delivery_id),
                    self.keys.delivery_log(delivery_id),
                    self.keys.lock(f"delivery:{delivery_id}"),
                    self.keys.delivery_record(delivery_id),
                ],
                args=[
                    token,
                    json.dumps({a: recipient_records.encode(a, st) for a, st in states.items()}),
                    json.dumps(log, default=str) if log is not None and states else "",
                ],
            ),
            self.db.script(
                "finish_due",
                keys=[self.keys.due, self.keys.leased, self.keys.lease_renewals, self.keys.due_failures],
                args=[deliver_member(delivery_id), repr(lease), "" if next_at is None else repr(next_at)],
            ),
            self.mark_retrying(delivery_id, next_at),
        )

    def mark_retrying(self, delivery_id: str, next_at: float | None) -> Awaitable[Any]:
        """A next attempt at `next_at` is a retry (a recipient deferred, unknown or bounced
        softly): counted while it waits (the `deliveries_retrying` gauge); None: none waits."""
        if next_at is None:
            return self.db.command("zrem", self.keys.retrying, delivery_id)
        return self.db.command("zadd", self.keys.retrying, {delivery_id: next_at})

    async def store_message(
        self, delivery_id: str, message: bytes, message_id: str, *, sending: dict[str, RecipientState] | None = None
    ) -> bytes:
        """Keep the first built message of a delivery, sealed: every retry sends the same bytes.
        With `sending`, those recipient states are saved in the same round trip. Returns the
        message kept (an earlier one, if another worker stored it first).

        Raises:
          SealingKeyMissing: no SEALING_KEY is set.
          SealedValueUnreadable: the message kept before is one no configured key opens.
        """
        sealing = required(self.sealing, "storing a built message")
        bound_to = self._message_bound_to(delivery_id)
        stored = await self.db.script(
            "store_message",
            keys=[self.keys.delivery(delivery_id), self.keys.delivery_recipients(delivery_id)],
            args=[
                sealing.seal(message, bound_to=bound_to),
                message_id,
                json.dumps({a: recipient_records.encode(a, st) for a, st in (sending or {}).items()}),
            ],
        )
        return message if stored is None else sealing.open(stored, bound_to=bound_to)

    async def fold(self, delivery_id: str, message: bytes | None) -> int | None:
        """Retention: drop a delivery's built `message` (as `load_delivery` read it, None when it
        holds none), keeping what rebuilds the very same bytes (worker.services.retention) and
        what tells that it did: its DKIM-Signature header, if it was signed (a signature made
        again would carry another time), and its digest (`message_digest`). The rest of its
        hash, its recipients' states and its history become one record (`delivery_records`).
        Returns the bytes freed (the message as sealed), or None when a key changed while this
        read them (nothing was done: call again)."""
        kept: dict[str, bytes] = {}
        if message is not None:
            kept["message_digest"] = message_digest(message)
            if (signature := dkim_signature_of(message)) is not None:
                kept["dkim_signature"] = signature
        keys = [
            self.keys.delivery(delivery_id),
            self.keys.delivery_recipients(delivery_id),
            self.keys.delivery_log(delivery_id),
            self.keys.delivery_record(delivery_id),
        ]
        fields, states, log, record = await asyncio.gather(  # one round trip
            self.db.command("hgetall", keys[0]),
            self.db.command("hgetall", keys[1]),
            self.db.command("lrange", keys[2], 0, -1),
            self.db.command("get", keys[3]),
        )
        folded = delivery_records.fold(record, fields, states, log, kept)
        freed = await self.db.script(
            "fold_delivery", keys=keys, args=[read_digest(fields, states, log, record), folded]
        )
        return None if int(freed) < 0 else int(freed)

    async def forget_message(self, delivery_id: str) -> None:
        """Drop a delivery's built message bytes (they may hold a secret once it is sent)."""
        await self.db.command("hdel", self.keys.delivery(delivery_id), "message")

    async def recipient_states(self, delivery_id: str) -> dict[str, RecipientState]:
        raw, record = await asyncio.gather(  # one round trip
            self.db.command("hgetall", self.keys.delivery_recipients(delivery_id)),
            self.db.command("get", self.keys.delivery_record(delivery_id)),
        )
        return _states_from(raw, delivery_records.unfold(record))

    async def save_recipient_states(
        self, delivery_id: str, states: dict[str, RecipientState], log: dict[str, Any] | None = None
    ) -> None:
        if not states:
            return
        pipe = self.db.transaction()
        pipe.hset(
            self.keys.delivery_recipients(delivery_id),
            mapping={a: recipient_records.encode(a, s) for a, s in states.items()},
        )
        if log is not None:
            pipe.rpush(self.keys.delivery_log(delivery_id), json.dumps(log, default=str))
        await pipe.execute()

    async def append_delivery_log(self, delivery_id: str, entry: dict[str, Any]) -> None:
        await self.db.command("rpush", self.keys.delivery_log(delivery_id), json.dumps(entry, default=str))

    async def delivery_log(self, delivery_id: str) -> list[dict[str, Any]]:
        """The delivery's history, oldest first: what its record holds, then what came since."""
        record, live = await asyncio.gather(  # one round trip
            self.db.command("get", self.keys.delivery_record(delivery_id)),
            self.db.command("lrange", self.keys.delivery_log(delivery_id), 0, -1),
        )
        return [json.loads(r) for r in [*delivery_records.unfold(record)["log"], *live]]

    async def delivery_page(self, start: int, count: int) -> list[str]:
        """Delivery ids as they were created, `count` of them from position `start`: those of
        the sorted set kept before 2026-12-07 first, then those of the list."""
        kept_before = int(await self.db.command("zcard", self.keys.deliveries))
        ids: list[str] = []
        if start < kept_before:
            ids = [m.decode() for m in await self.db.command("zrange", self.keys.deliveries, start, start + count - 1)]
        if (rest := count - len(ids)) > 0:
            offset = max(0, start - kept_before)
            entries = await self.db.command("lrange", self.keys.created_deliveries, offset, offset + rest - 1)
            ids += [_created(entry)[1] for entry in entries]
        return ids

    async def kept_messages(self, delivery_ids: list[str]) -> list[bool]:
        """Whether each delivery still holds its built message (one round trip)."""
        pipe = self.db.redis.pipeline(transaction=False)
        for delivery_id in delivery_ids:
            pipe.hexists(self.keys.delivery(delivery_id), "message")
        return [bool(kept) for kept in await pipe.execute()]

    async def delivery_ids(self, since: float | None = None) -> list[str]:
        """Delivery ids by creation time; only those created at or after `since` (Unix seconds)."""
        low = "-inf" if since is None else repr(since)
        kept_before, entries = await asyncio.gather(  # one round trip
            self.db.command("zrangebyscore", self.keys.deliveries, low, "+inf", withscores=True),
            self._created_since(since),
        )
        created = [(float(at), m.decode()) for m, at in kept_before]
        created += [(at, delivery_id) for at, delivery_id in map(_created, entries) if since is None or at >= since]
        created.sort(key=lambda pair: pair[0])
        return [delivery_id for _, delivery_id in created]

    async def _created_since(self, since: float | None) -> list[bytes]:
        """The entries of the list of created deliveries from about `since` on (all of them for
        None), read back from its end a page at a time, so that a recent `since` reads only the
        recent ones. The list is in the order Redis ran the scripts, each entry stamped by its
        worker's clock: reading stops once a page starts `CLOCK_SKEW_S` before `since`."""
        key = self.keys.created_deliveries
        if since is None:
            return list(await self.db.command("lrange", key, 0, -1))
        entries: list[bytes] = []
        end = -1
        while page := await self.db.command("lrange", key, end - SINCE_PAGE + 1, end):
            entries = [*page, *entries]
            if len(page) < SINCE_PAGE or _created(page[0])[0] < since - CLOCK_SKEW_S:
                break
            end -= SINCE_PAGE
        return entries

    # -- suppression and bounces -----------------------------------------------------------------

    async def suppress(self, address: str, *, reason: str, source: str, at: float, until: float) -> None:
        entry = {"address": address, "reason": reason, "source": source, "at": at, "until": until}
        await self.db.command("hset", self.keys.suppressed, address.casefold(), json.dumps(entry))

    async def unsuppress(self, address: str) -> bool:
        return bool(await self.db.command("hdel", self.keys.suppressed, address.casefold()))

    async def suppression(self, address: str, now: float) -> dict[str, Any] | None:
        """The address's live suppression entry; an expired one is dropped on sight."""
        return (await self.live_suppressions([address], now))[address]

    async def live_suppressions(self, addresses: list[str], now: float) -> dict[str, dict[str, Any] | None]:
        """Each address's live suppression entry or None, in one round trip; expired ones are
        dropped on sight."""
        if not addresses:
            return {}
        folded = [a.casefold() for a in addresses]
        out: dict[str, dict[str, Any] | None] = {}
        expired = []
        for address, key, raw in zip(
            addresses, folded, await self.db.command("hmget", self.keys.suppressed, folded), strict=False
        ):
            entry = json.loads(raw) if raw is not None else None
            if entry is not None and entry["until"] <= now:
                expired.append(key)
                entry = None
            out[address] = entry
        if expired:
            await self.db.command("hdel", self.keys.suppressed, *expired)
        return out

    async def suppressions(self, now: float) -> list[dict[str, Any]]:
        entries = [json.loads(raw) for raw in (await self.db.command("hgetall", self.keys.suppressed)).values()]
        return sorted((e for e in entries if e["until"] > now), key=lambda e: e["address"])

    async def first_sight_of_bounce(self, digest: str, ttl_s: int) -> bool:
        """True the first time a bounce message (by digest) is seen within `ttl_s`."""
        return bool(await self.db.command("set", self.keys.bounce_seen(digest), b"1", nx=True, ex=ttl_s))

    async def claim_bounce_notice(self, address: str, period_s: float) -> bool:
        """True when no notice about `address` went out within the period; starts a new period."""
        return bool(
            await self.db.command(
                "set", self.keys.bounce_notice_sent(address.casefold()), b"1", nx=True, px=int(period_s * 1000)
            )
        )
