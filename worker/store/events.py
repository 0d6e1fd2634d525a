"""The store's events: which were processed, when each was first tried, the rejected (dead
letters), the skipped and the parked ones, and the secrets sealed out of their queue messages:
`Events`, the `events` part of `worker.store.store.Store`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import time
import zlib
from datetime import datetime
from functools import partial
from typing import Any

from worker.store import growing_buckets
from worker.store.cipher import SealingKeys, required
from worker.store.connection import Connection
from worker.store.due_members import event_member
from worker.store.keys import pattern_of
from worker.store.sealer import queue_seal

#: Bytes of an event's data digest that are kept (see `Events.seen_with_other_data`); 16 before
#: 2026-12-03, still compared as they are.
_DIGEST_BYTES = 8
_OLD_DIGEST_BYTES = 16
#: Bytes of SHA-256 of an event id that name its field in a bucket (see `digest_field`).
_FIELD_BYTES = 12
#: The buckets of a generation's digests as kept from 2026-12-03 to 2026-12-07 (4,096 fixed
#: ones): still looked at, no longer written.
DIGEST_BUCKETS = 4096


def digest_bucket(event_id: str | bytes) -> int:
    """Which of a generation's `DIGEST_BUCKETS` held the id's digest before levels: its CRC-32."""
    return zlib.crc32(event_id.encode() if isinstance(event_id, str) else event_id) % DIGEST_BUCKETS


def digest_place(event_id: str, level: int) -> str:
    """The "<level>:<bucket>" of the id's bucket at a generation's `level`."""
    return growing_buckets.place(growing_buckets.id_number(event_id), level)


def digest_field(event_id: str) -> bytes:
    """The field of an event id's digest in its bucket: 12 bytes of SHA-256 of the id, whatever
    its length (a UUID is 36). Two ids of one bucket and three generations share a field with
    odds of ~1e-13 at 100 million ids per generation; the second would then read as reused."""
    return hashlib.sha256(event_id.encode()).digest()[:_FIELD_BYTES]


class Events:
    """Processed markers, first sights, dead letters, skipped and parked events, sealed secrets."""

    def __init__(self, db: Connection, sealing: SealingKeys | None = None) -> None:
        self.db = db
        self.keys = db.keys
        #: The keys that encrypt sealed secrets (None: sealing or unsealing one is refused).
        self.sealing = sealing

    async def event_done(self, event_id: str) -> bool:
        return bool(await self.db.command("exists", self.keys.event(event_id)))

    async def mark_event_done(self, event_id: str) -> None:
        await self.db.command("set", self.keys.event(event_id), b"1", ex=self.db.event_ttl_s)

    async def seen_with_other_data(self, event_id: str, digest: str) -> bool:
        """Remember `digest` (hex) as the data of `event_id` unless one is kept already; True when
        the one kept before differs (the id is reused), False at first sight and for a replay.
        Kept at least as long as the processed marker.

        What is kept is the digest's first 64 bits (an id reused by mistake, not forged, is what
        this catches: another data goes unnoticed with odds of 2^-64), as a field of a bucket
        hash named by 12 bytes of the id's own digest (`digest_field`): a key of its own per
        event cost ~130 B with its expiry, a field of the id and 16 bytes ~56 B, this ~24 B, in
        every open window (two events) and every invoice (four to six) for 90 days. Hashes
        cannot expire a field, so each generation of half the TTL has its own buckets, which
        expire whole: an id is looked for in its buckets of this generation and of the two
        before (remember_digest.lua, one call). A generation's buckets grow with its events, by
        levels of twice as many (`worker.store.growing_buckets`): 4,096 fixed ones
        cost ~100 B of a key each, ~200 B per invoice at a few thousand. Generations go by wall
        time, as Redis expires keys. A digest kept before 2026-12-07 (in one of `DIGEST_BUCKETS`),
        before 2026-12-03 (16 bytes under the id itself), or before buckets existed (16 bytes or
        64 hex digits in a key of its own) is read and compared as it was.
        """
        bucket = digest_bucket(event_id)
        span_s = max(1, self.db.event_ttl_s // 2)
        generation = int(time.time()) // span_s
        generations = (generation, generation - 1, generation - 2)
        compact = bytes.fromhex(digest)[:_DIGEST_BYTES]
        stored = await self.db.script(
            "remember_digest",
            keys=[
                *(self.keys.event_digests(g, bucket) for g in generations),
                self.keys.event_data(event_id),
                *(self.keys.event_digest_level(g) for g in generations),
            ],
            args=[
                event_id,
                digest_field(event_id),
                compact,
                (generation + 3) * span_s * 1000,
                *(pattern_of(partial(self.keys.event_digest_bucket, g)) for g in generations),
                *growing_buckets.script_args(),
            ],
        )
        if stored is None:
            return False
        kept = stored if isinstance(stored, bytes) else str(stored).encode()
        if len(kept) in (_DIGEST_BYTES, _OLD_DIGEST_BYTES):
            return kept != bytes.fromhex(digest)[: len(kept)]
        return kept != digest.encode()

    async def first_seen(self, event_id: str, now: float) -> float:
        """When the event was first tried (set now if never)."""
        key = self.keys.event_first_seen(event_id)
        pipe = self.db.transaction()
        pipe.set(key, repr(now), nx=True, ex=self.db.event_ttl_s)
        pipe.get(key)
        _, stored = await pipe.execute()
        return float(stored)

    # -- rejected and skipped ------------------------------------------------------------------

    async def dead_letter(
        self, *, key: str, event_id: str, event_type: str, field: str, reason: str, event: Any, at: datetime
    ) -> bool:
        """Keep a rejected event with its reason, once per `key` (what it is known by: a digest
        of its line or of its content); False when it was kept before. The caller redacts secrets."""
        if not await self.db.command("sadd", self.keys.dead_letter_ids, key):
            return False
        entry = {
            "event_id": event_id,
            "type": event_type,
            "field": field,
            "reason": reason,
            "at": at.isoformat(),
            "event": event,
        }
        await self.db.command("rpush", self.keys.dead_letters, json.dumps(entry, default=str))
        return True

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.db.command("lrange", self.keys.dead_letters, 0, -1)]

    async def stored_dead_letters(self) -> list[tuple[bytes, dict[str, Any]]]:
        """Each dead letter as stored (to remove it by its bytes) and decoded, oldest first."""
        return [(raw, json.loads(raw)) for raw in await self.db.command("lrange", self.keys.dead_letters, 0, -1)]

    async def remove_dead_letters(self, stored: list[bytes], keys: list[str]) -> None:
        """Take dead letters away (replayed or purged): their entries, and the keys that kept
        each once, so that the same event rejected again is kept again."""
        for raw in stored:
            await self.db.command("lrem", self.keys.dead_letters, 1, raw)
        if keys:
            await self.db.command("srem", self.keys.dead_letter_ids, *keys)

    async def record_skipped(self, *, event_id: str, event_type: str, reason: str, at: datetime) -> bool:
        """Keep a valid event that had no effect by rule, with why (once per event id)."""
        if not await self.db.command("sadd", self.keys.skipped_ids, event_id):
            return False
        entry = {"event_id": event_id, "type": event_type, "reason": reason, "at": at.isoformat()}
        await self.db.command("rpush", self.keys.skipped, json.dumps(entry))
        return True

    async def skipped(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.db.command("lrange", self.keys.skipped, 0, -1)]

    # -- parked --------------------------------------------------------------------------------

    async def park_event(self, event_id: str, account_id: str | None, raw: dict[str, Any], due_at: float) -> None:
        pipe = self.db.transaction()
        pipe.set(self.keys.parked(event_id), json.dumps(raw, default=str))
        pipe.sadd(self.keys.parked_ids, event_id)
        if account_id:
            pipe.sadd(self.keys.parked_by_account(account_id), event_id)
        pipe.zadd(self.keys.due, {event_member(event_id): due_at}, lt=True)
        await pipe.execute()

    async def load_parked(self, event_id: str) -> dict[str, Any] | None:
        raw = await self.db.command("get", self.keys.parked(event_id))
        return json.loads(raw) if raw else None

    async def unpark_event(self, event_id: str, account_id: str | None) -> None:
        pipe = self.db.transaction()
        pipe.delete(self.keys.parked(event_id))
        pipe.srem(self.keys.parked_ids, event_id)
        if account_id:
            pipe.srem(self.keys.parked_by_account(account_id), event_id)
        await pipe.execute()

    async def wake_parked(self, account_id: str, at: float) -> list[str]:
        """Make the events parked for an account due at `at` (or keep them due earlier); returns
        their due members."""
        ids = [m.decode() for m in await self.db.command("smembers", self.keys.parked_by_account(account_id))]
        members = [event_member(event_id) for event_id in ids]
        for member in members:
            await self.db.command("zadd", self.keys.due, {member: at}, lt=True)
        return members

    # -- sealed secrets ------------------------------------------------------------------------

    async def seal(self, secret: str, ttl_s: float) -> str:
        """Keep a secret, encrypted, under a new random token for at most `ttl_s`; returns the token.

        Raises:
          SealingKeyMissing: no SEALING_KEY is set.
        """
        sealing = required(self.sealing, "sealing a redemption code")
        token = secrets.token_urlsafe(18)
        key = self.keys.sealed(token)
        pipe = self.db.transaction()
        queue_seal(pipe, self.keys, token, sealing.seal(secret.encode(), bound_to=key), ttl_s)
        await pipe.execute()
        return token

    async def unseal(self, token: str) -> str | None:
        """The secret sealed under `token`, or None when it is gone (expired or forgotten).

        Raises:
          SealingKeyMissing: no SEALING_KEY is set.
          SealedValueUnreadable: no configured key opens it (a wrong SEALING_KEY, or altered).
        """
        key = self.keys.sealed(token)
        raw = await self.db.command("get", key)
        if raw is None:
            return None
        return required(self.sealing, "reading a sealed redemption code").open(raw, bound_to=key).decode()

    async def forget_sealed(self, token: str) -> None:
        await asyncio.gather(
            self.db.command("delete", self.keys.sealed(token)), self.db.command("zrem", self.keys.sealed_index, token)
        )
