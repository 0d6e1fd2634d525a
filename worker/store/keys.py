"""Every Redis key this service writes, named once. `prefix` comes from the settings.

A Lua script gets the keys it touches in KEYS. The few it can only name at run time (an id it
reads from a value, an invoice number it allocates) it gets as patterns (`pattern_of`), so that
the names are still made here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

_SLOT = "\x00"


def pattern_of(name_of: Callable[[str], str]) -> str:
    """The names `name_of` makes as a Lua `string.format` pattern with one ``%s`` for the id:
    ``pattern_of(Keys("iw").order) == "iw:order:%s"`` (a ``%`` of the prefix is doubled)."""
    name = name_of(_SLOT)
    assert name.count(_SLOT) == 1, name
    return name.replace("%", "%%").replace(_SLOT, "%s")


@dataclass(frozen=True)
class Keys:
    prefix: str = "iw"

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def account(self, account_id: str) -> str:
        """The account: its snapshot ("body", "occurred_at") and, since 2026-12-07, its order
        ids (each under orders.ACCOUNT_ORDER_PREFIX -> "")."""
        return f"{self.prefix}:account:{account_id}"

    def account_orders(self, account_id: str) -> str:
        """The account's order ids as a set: written before 2026-12-03, still read."""
        return f"{self.prefix}:account:{account_id}:orders"

    def account_order_ids(self, account_id: str) -> str:
        """order id -> "" of the account's orders: a hash, for the reason of
        `subscription_order_ids`, written from 2026-12-03 to 2026-12-07 (since, in `account`):
        still read."""
        return f"{self.prefix}:account:{account_id}:order_ids"

    def order(self, order_id: str) -> str:
        return f"{self.prefix}:order:{order_id}"

    def activations(self, order_id: str) -> str:
        """line id -> its first activation (orders.activation_value); and, each under
        orders.SETTLED_PREFIX, the lines its windows settled -> their invoice number."""
        return f"{self.prefix}:order:{order_id}:activations"

    def settled(self, order_id: str) -> str:
        """line id -> number of the invoice that billed it ("-" when the window billed nothing),
        as kept until 2026-12-04 (since, in the order's `activations` hash): still read."""
        return f"{self.prefix}:order:{order_id}:settled"

    def order_event(self, order_id: str) -> str:
        """Id of the order.booked event that booked an order stored before order records (which
        hold it now: `worker.store.order_records`), to dead-letter it if rejected later."""
        return f"{self.prefix}:order:{order_id}:event"

    def subscription_orders(self, subscription_id: str) -> str:
        """The subscription's order ids as a set: written before 2026-12-02, still read."""
        return f"{self.prefix}:subscription:{subscription_id}:orders"

    def subscription_order_ids(self, subscription_id: str) -> str:
        """order id -> "" of the subscription's orders: a hash, because Redis keeps a small hash
        compactly and a set of strings (before Redis 7.2) as a hashtable (~250 bytes for one).
        Since 2026-12-07 only for a subscription whose ids are too long for
        `subscription_order_bucket`."""
        return f"{self.prefix}:subscription:{subscription_id}:order_ids"

    def subscription_order_bucket(self, place: str) -> str:
        """subscription id -> its order ids (one per line), for many subscriptions, at `place`
        "<level>:<bucket>" (`worker.store.growing_buckets`)."""
        return f"{self.prefix}:subscription-orders:{place}"

    @property
    def subscription_order_level(self) -> str:
        """The level subscriptions' order ids are written at now (`subscription_order_bucket`)."""
        return f"{self.prefix}:subscription-orders:level"

    def subscription_periods(self, subscription_id: str) -> str:
        """ "order:line:period start" -> number of the invoice that billed that later period."""
        return f"{self.prefix}:subscription:{subscription_id}:periods"

    @property
    def invoice_seq(self) -> str:
        return f"{self.prefix}:invoice:seq"

    def invoice(self, number: str) -> str:
        return f"{self.prefix}:invoice:{number}"

    def invoice_documents(self, number: str) -> str:
        """The invoice's documents as first built and sent: meta (JSON), pdf and xml (sealed),
        or held (JSON: the rules the e-invoice broke at the gate)."""
        return f"{self.prefix}:invoice:{number}:documents"

    @property
    def credit_note_seq(self) -> str:
        return f"{self.prefix}:credit_note:seq"

    @property
    def credit_notes(self) -> str:
        """credited invoice number -> number of the credit note that cancelled it."""
        return f"{self.prefix}:credit_notes"

    @property
    def reissues(self) -> str:
        """credited invoice number -> number of the invoice that replaced it."""
        return f"{self.prefix}:reissues"

    def account_credit(self, account_id: str) -> str:
        """credited invoice number -> what was paid on it, kept as the account's credit balance."""
        return f"{self.prefix}:account:{account_id}:credit"

    def usage_months(self, subscription_id: str) -> str:
        """month -> number of the usage invoice that billed it (a subscription's monthly usage)."""
        return f"{self.prefix}:subscription:{subscription_id}:usage"

    def usage_events(self, subscription_id: str) -> str:
        """month -> id of the usage.rated event that the month's usage invoice comes from."""
        return f"{self.prefix}:subscription:{subscription_id}:usage_events"

    def ledger_entries(self, number: str) -> str:
        """What covered the invoice, by reference (a payment's event id): the entry as JSON."""
        return f"{self.prefix}:invoice:{number}:ledger"

    def ledger_events(self, number: str) -> str:
        """The invoice's life after issue, oldest first: disputes, credits, reminders (JSON)."""
        return f"{self.prefix}:invoice:{number}:history"

    def ledger_flags(self, number: str) -> str:
        """The invoice's dispute ("open", or absent) and the credit note that cancelled it."""
        return f"{self.prefix}:invoice:{number}:flags"

    def reminders_done(self, number: str) -> str:
        """The reminder steps (days from the due date) sent or skipped for the invoice."""
        return f"{self.prefix}:invoice:{number}:reminders"

    def invoice_copies(self, number: str) -> str:
        """Ids of the deliveries that re-sent the invoice's email (`resend`), oldest first."""
        return f"{self.prefix}:invoice:{number}:copies"

    def invoice_copy_seq(self, number: str) -> str:
        """The count of the invoice's re-sent copies: numbers each copy's delivery id."""
        return f"{self.prefix}:invoice:{number}:copies:seq"

    def delivery(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    def delivery_recipients(self, delivery_id: str) -> str:
        """address -> its delivery state (JSON)."""
        return f"{self.prefix}:delivery:{delivery_id}:rcpt"

    def delivery_log(self, delivery_id: str) -> str:
        """Every attempt and report for a delivery, oldest first (JSON)."""
        return f"{self.prefix}:delivery:{delivery_id}:log"

    def delivery_record(self, delivery_id: str) -> str:
        """What retention leaves of the three keys above: one record (`worker.store.delivery_records`)."""
        return f"{self.prefix}:delivery:{delivery_id}:record"

    @property
    def deliveries(self) -> str:
        """Delivery ids by creation time, a sorted set, as kept until 2026-12-07: still read."""
        return f"{self.prefix}:deliveries"

    @property
    def created_deliveries(self) -> str:
        """Every delivery as it was created, a list of "<created at (Unix seconds)> <delivery
        id>": ~40 B a delivery, where a sorted set's member cost ~110 B."""
        return f"{self.prefix}:deliveries-created"

    @property
    def due(self) -> str:
        """Everything that must happen at a time: member -> due time (Unix seconds)."""
        return f"{self.prefix}:due"

    @property
    def retention_swept(self) -> str:
        """Set once every delivery finished before retention existed has its `retain:` member."""
        return f"{self.prefix}:retention-swept"

    @property
    def retrying(self) -> str:
        """Deliveries waiting for a retry (a recipient deferred or unknown): id -> next attempt
        (Unix seconds). Kept for the backlog gauge; the due index is what runs them."""
        return f"{self.prefix}:deliveries-retrying"

    @property
    def parked_ids(self) -> str:
        """Ids of the events parked now (for the backlog gauge)."""
        return f"{self.prefix}:parked-ids"

    @property
    def sealed_index(self) -> str:
        """Sealed secrets' tokens -> when each expires (Unix seconds), for the backlog gauge."""
        return f"{self.prefix}:sealed-index"

    @property
    def leased(self) -> str:
        """Due members claimed and not yet finished: member -> lease expiry (Unix seconds)."""
        return f"{self.prefix}:due:leased"

    @property
    def lease_renewals(self) -> str:
        """Leased members a heartbeat extended: member -> "<lease> <expiry>" (the claim it
        extended, as `leased` holds it, and until when)."""
        return f"{self.prefix}:due:renewed"

    @property
    def due_failures(self) -> str:
        """Due members (and events) failing with an unforeseen error: member -> attempts so far."""
        return f"{self.prefix}:due:failures"

    def parked(self, event_id: str) -> str:
        """An event waiting for what it needs, as it was queued (secrets already sealed)."""
        return f"{self.prefix}:parked:{event_id}"

    def parked_by_account(self, account_id: str) -> str:
        """Ids of the events parked for an account: woken when the account or a reward arrives."""
        return f"{self.prefix}:parked:account:{account_id}"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    @property
    def suppressed(self) -> str:
        """Suppressed address (case-folded) -> {"reason", "at", "until", "source"} (JSON)."""
        return f"{self.prefix}:suppressed"

    def bounce_seen(self, digest: str) -> str:
        """A bounce message already applied (by content digest): a redelivered one has no effect."""
        return f"{self.prefix}:bounce:seen:{digest}"

    def bounce_notice_sent(self, address: str) -> str:
        """Set while the account contacts have been told that `address` bounces (expires)."""
        return f"{self.prefix}:bounce:notice:{address}"

    def sealed(self, token: str) -> str:
        """A secret taken out of a queue message (worker/sealed.py), under a random token, with a TTL."""
        return f"{self.prefix}:sealed:{token}"

    def event_data(self, event_id: str) -> str:
        """Digest of the `data` an event id was first seen with, as kept before digest buckets
        (read, never written). (Not under `event:`, where an id ending in ":data" would name
        the same key.)"""
        return f"{self.prefix}:event-data:{event_id}"

    def event_digests(self, generation: int, bucket: int) -> str:
        """Digests of the `data` event ids were first seen with, one of 4,096 buckets of a
        generation as kept until 2026-12-07 (hash: 12 bytes of the id's digest -> 8 bytes; the
        id -> 16 bytes before 2026-12-03); read, no longer written."""
        return f"{self.prefix}:event-digests:{generation}:{bucket}"

    def event_digest_bucket(self, generation: int, place: str) -> str:
        """Digests of the `data` event ids were first seen with, a bucket of them (hash: 12 bytes
        of the id's digest -> 8 bytes) of a generation, at `place` "<level>:<bucket>"
        (`worker.store.events.Events.seen_with_other_data`)."""
        return f"{self.prefix}:event-digests:{generation}:{place}"

    def event_digest_level(self, generation: int) -> str:
        """The level a generation's digests are written at now (`event_digest_bucket`): absent
        is 0."""
        return f"{self.prefix}:event-digests:{generation}:level"

    def event_first_seen(self, event_id: str) -> str:
        """When an event was first tried (Unix seconds): bounds how long it may wait for another."""
        return f"{self.prefix}:event:{event_id}:first_seen"

    def reward_lots(self, account_id: str) -> str:
        """lot id (the accrual month) -> the lot as JSON (amount, expiry, remaining)."""
        return f"{self.prefix}:rewards:{account_id}:lots"

    def rewards_redeemed(self, invoice_number: str) -> str:
        """Cumulative amount paid with rewards on an invoice (a decimal string)."""
        return f"{self.prefix}:rewards:invoice:{invoice_number}:redeemed"

    def redemption(self, event_id: str) -> str:
        """The applied redemption of a `rewards.redeemed` event (JSON): applied once per event id."""
        return f"{self.prefix}:rewards:redemption:{event_id}"

    @property
    def skipped(self) -> str:
        """Events that were valid but had no effect by rule (e.g. not eligible for rewards), why."""
        return f"{self.prefix}:skipped"

    @property
    def skipped_ids(self) -> str:
        return f"{self.prefix}:skipped:ids"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def dead_letter_ids(self) -> str:
        """What each dead letter is known by (a digest of its line or event): each kept once."""
        return f"{self.prefix}:dead:ids"

    @property
    def installation(self) -> str:
        """This installation's random id, made once (SET NX): a Redis reset makes a new one."""
        return f"{self.prefix}:installation"

    def return_path(self, token: str) -> str:
        """What a VERP return path's short token names: "delivery id US recipient" (expires)."""
        return f"{self.prefix}:verp:{token}"

    @property
    def alerts(self) -> str:
        """Alerts about the worker's own setup: name -> count, and "<name>:last" -> when (Unix s)."""
        return f"{self.prefix}:alerts"
