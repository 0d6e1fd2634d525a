"""Redis holds state, not an archive: once every recipient of a delivery is final, and
MESSAGE_RETENTION_DAYS have passed since the last of them became so, the delivery's built message
and its invoice's PDF and XML are dropped. What the delivery was (recipients, states, history,
the Message-ID) stays, folded into one record (`worker.store.delivery_records`), and so does
what builds the bytes again: the invoice, the account as the documents were first built from,
the locale, and the DKIM-Signature header; with the message's digest, which tells a rebuild
that differs (the signature is then made again). Documents kept before their source was kept
with them stay whole. A later need (a bounce's resend, `resend`, `document`, a reminder) builds
them again, byte for byte the same (deterministic builds: the Message-ID, the Date and the MIME
boundaries come from the stored delivery, the PDF's timestamps from the invoice date); the
signature kept still verifies.

Within one release of this worker: a change to a template, a catalog or a data file changes
what is built again (README, "Operations").
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

from worker.domain.delivery import finished_at
from worker.emails.kinds import KINDS, Loads
from worker.services.context import ServiceContext
from worker.store.due_members import retain_member
from worker.store.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Dropped:
    delivery_id: str
    #: Bytes freed: the message, and the invoice's documents for a kind that carries them.
    freed: int


async def schedule(store: Store, delivery_id: str, final_at: float, retention_s: float | None) -> None:
    """Once a delivery is final: drop its bytes `retention_s` after `final_at` (None: never)."""
    if retention_s is not None:
        await store.due.mark_due(retain_member(delivery_id), final_at + retention_s)


async def expire(app: ServiceContext, delivery_id: str, lease: float) -> Dropped | None:
    """Drop the delivery's bytes if its retention is over; else look again when it will be (a
    bounce report may have changed a recipient since), or never while one is not final (the
    next attempt schedules it again). Returns what was dropped, or None."""
    store, member, retention_s = app.store, retain_member(delivery_id), app.policy.message_retention_s
    delivery, states = await asyncio.gather(  # one round trip
        store.deliveries.load_delivery(delivery_id), store.deliveries.recipient_states(delivery_id)
    )
    final_at = finished_at(states)
    if delivery is None or retention_s is None or final_at is None:
        await store.due.finish_due(member, lease, None)
        return None
    now = app.clock().timestamp()
    if final_at + retention_s > now:
        await store.due.finish_due(member, lease, final_at + retention_s)
        return None
    freed = 0
    if "message_unreadable" in delivery:  # no key opens it: keep it for the key that will
        log.warning("delivery %s: its message is kept past retention: %s", delivery_id, delivery["message_unreadable"])
    else:
        folded = await store.deliveries.fold(delivery_id, delivery.get("message"))
        if folded is None:  # a report changed it while this read it: look again shortly
            await store.due.finish_due(member, lease, now + REFOLD_AFTER_S)
            return None
        freed = folded
    kind = KINDS.get(delivery["kind"])
    if kind is not None and kind.documents and kind.loads is Loads.INVOICE:
        freed += await store.documents.drop(delivery["key"])
    await store.due.finish_due(member, lease, None)
    log.info("delivery %s: message and documents dropped after retention (%d bytes)", delivery_id, freed)
    return Dropped(delivery_id, freed)


#: How soon a delivery that changed while retention folded it is looked at again (seconds).
REFOLD_AFTER_S = 60.0

#: Deliveries looked at per round trip by `sweep`.
SWEEP_PAGE = 500


async def sweep(app: ServiceContext, stop: threading.Event | None = None) -> int:
    """Once per installation: give every finished delivery that still holds its message, and has
    no `retain:` member (it finished before retention existed), its member. Idempotent (a member
    due earlier is kept), so several workers sweeping at once do no harm; the marker is set once
    the whole index was read (not when `stop` is set first). Returns how many were scheduled."""
    store, retention_s = app.store, app.policy.message_retention_s
    if retention_s is None or await store.db.command("exists", store.keys.retention_swept):
        return 0
    scheduled, start = 0, 0
    while page := await store.deliveries.delivery_page(start, SWEEP_PAGE):
        if stop is not None and stop.is_set():
            return scheduled  # the next start sweeps again (idempotent)
        start += len(page)
        kept = [d for d, held in zip(page, await store.deliveries.kept_messages(page), strict=True) if held]
        # Each gather is one round trip (the store pipelines what one turn of the loop sends).
        states = await asyncio.gather(*(store.deliveries.recipient_states(d) for d in kept))
        finished = [(d, at) for d, st in zip(kept, states, strict=True) if (at := finished_at(st)) is not None]
        await asyncio.gather(*(schedule(store, d, at, retention_s) for d, at in finished))
        scheduled += len(finished)
    await store.db.command("set", store.keys.retention_swept, repr(app.clock().timestamp()))
    if scheduled:
        log.info("retention: %d deliveries that finished before it existed will drop their bytes", scheduled)
    return scheduled
