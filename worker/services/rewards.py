"""`rewards.accrued` and `rewards.redeemed`: keep the account's reward lots, apply redemptions
once, and create the rewards-code and redemption-confirmation emails (DOMAIN.md sections 5-6).

The rules are in worker/rewards.py; this module loads, asks, and stores atomically.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from worker.contract.events import Event
from worker.contract.sealed import sealed_token
from worker.domain.ledger import Entry
from worker.domain.notices import RedeemedLot, RedemptionNotice, RewardNotice, to_jsonable
from worker.domain.rewards import (
    RedemptionRejected,
    RewardLot,
    RewardsUnavailable,
    Usage,
    accrue,
    ineligibility,
    plan_redemption,
)
from worker.emails.kinds import REDEMPTION, REWARDS_CODE, kind
from worker.errors import InvalidEvent, PrerequisiteMissing, TransientError
from worker.services.context import ServiceContext
from worker.services.deliveries import create_delivery
from worker.store.due_members import deliver_member

log = logging.getLogger(__name__)

#: A redemption re-planned this often after losing a race to another one is retried later.
MAX_REDEEM_ATTEMPTS = 5

_LOT = TypeAdapter(RewardLot)


def rewards_code_delivery_id(account_id: str, month: str) -> str:
    return kind(REWARDS_CODE).delivery_id(account_id, month)


def redemption_delivery_id(event_id: str) -> str:
    return kind(REDEMPTION).delivery_id(event_id)


async def _wait_or_reject(app: ServiceContext, event: Event, field: str, reason: str) -> None:
    """Retry later while the event is young (what it needs may still arrive), then reject it.

    Raises:
      PrerequisiteMissing: within `rewards_wait_s` of the event's first try (retried).
      InvalidEvent: after that (dead-lettered).
    """
    now = app.clock().timestamp()
    first = await app.store.events.first_seen(event.id, now)
    if now - first < app.policy.rewards_wait_s:
        raise PrerequisiteMissing(f"event {event.id}: {reason}; will retry")
    raise InvalidEvent(event.id, field, reason)


async def forget_unused_code(app: ServiceContext, event: Event) -> None:
    """Delete the sealed code of an event that will not be used (duplicate, skipped), unless it
    is the very one its delivery refers to (a redelivered message after a crash)."""
    token = sealed_token(event.raw, "redemption_code")
    if token is None or event.type != "rewards.accrued":
        return
    delivery = await app.store.deliveries.load_delivery(
        rewards_code_delivery_id(event.data.account_id, event.data.month)
    )
    if delivery is None or delivery["context"].get("code_ref") != token:
        await app.store.events.forget_sealed(token)


async def apply_rewards_accrued(app: ServiceContext, event: Event) -> list[str]:
    """Keep the month's reward lot and send its code to the billing contact alone; an account
    that is not eligible gets neither, and the reason is recorded in the skipped list.

    Raises:
      PrerequisiteMissing / InvalidEvent: the account is not known (yet / after `rewards_wait_s`).
    """
    data, store = event.data, app.store
    account = await store.orders.load_account(data.account_id)
    if account is None:
        await _wait_or_reject(
            app,
            event,
            "data.account_id",
            f"account {data.account_id!r} is unknown: its eligibility for rewards cannot be decided",
        )
    assert account is not None
    usage = [Usage(u.service, u.category, u.net_amount) for u in data.usage]
    lot = accrue(account, data.month, usage, data.currency)
    reason = ineligibility(account)
    if reason is None and lot.amount <= 0:
        reason = f"no eligible (OCI) usage in {data.month}"
    if reason is not None:
        log.info("event %s (%s): account %s gets no rewards: %s", event.id, event.type, account.account_id, reason)
        await store.events.record_skipped(event_id=event.id, event_type=event.type, reason=reason, at=app.clock())
        await forget_unused_code(app, event)
        return []
    token = sealed_token(event.raw, "redemption_code")
    if token is None:  # the event reached the queue without `ingest`: seal the code now
        token = await store.events.seal(data.redemption_code, app.policy.sealed_secret_ttl_s)
    await store.rewards.add_reward_lot(account.account_id, lot.lot_id, _LOT.dump_json(lot).decode())
    contact = data.billing_contact.to_model()  # alone: the code is a secret, never Cc'd (kinds.py)
    notice = RewardNotice(
        account_id=account.account_id,
        month=data.month,
        amount=lot.amount,
        currency=lot.currency,
        accrued_on=lot.accrued_on,
        expires_on=lot.expires_on,
        account_name=account.name,
    )
    delivery_id = rewards_code_delivery_id(account.account_id, data.month)
    created = await create_delivery(
        app,
        REWARDS_CODE,
        delivery_id,
        key=f"{account.account_id}:{data.month}",
        to=contact,
        account=account,
        context={"notice": to_jsonable(notice), "recipient": to_jsonable(contact), "code_ref": token},
    )
    if not created:
        await forget_unused_code(app, event)
    log.info(
        "event %s: %s %s rewards for account %s, delivery %s",
        event.id,
        lot.amount,
        lot.currency,
        account.account_id,
        delivery_id,
    )
    return [deliver_member(delivery_id)]


async def apply_rewards_redeemed(app: ServiceContext, event: Event) -> list[str]:
    """Apply the redemption once (earliest-expiring lots first, pre-tax cap) and confirm it.

    Raises:
      InvalidEvent: the amount exceeds what rewards may still pay on the invoice (`data.amount`).
      PrerequisiteMissing: too few unexpired rewards yet (an accrual may be on its way); after
        `rewards_wait_s` it is an InvalidEvent on `data.amount`.
    """
    data, store = event.data, app.store
    record = await store.rewards.redemption(event.id) or await _redeem(app, event)
    # Rewards pay the invoice like a payment: its ledger counts them (once, by the event's id).
    await store.ledgers.record(data.invoice_number, Entry("rewards", event.id, data.amount, data.redeemed_at))
    notice = RedemptionNotice(
        invoice_number=data.invoice_number,
        currency=data.currency,
        amount=data.amount,
        redeemed_at=data.redeemed_at,
        invoice_excl_tax=data.invoice_amount_excl_tax,
        invoice_tax=data.invoice_tax,
        cumulative_redeemed=Decimal(record["cumulative_redeemed"]),
        remaining_due=Decimal(record["remaining_due"]),
        lots=tuple(
            RedeemedLot(Decimal(lot["amount"]), date.fromisoformat(lot["expires_on"])) for lot in record["lots"]
        ),
        account_name=record.get("account_name", ""),
    )
    account = await store.orders.load_account(data.account_id)
    contact = data.billing_contact.to_model()
    delivery_id = redemption_delivery_id(event.id)
    await create_delivery(
        app,
        REDEMPTION,
        delivery_id,
        key=data.invoice_number,
        to=contact,
        account=account,
        context={"notice": to_jsonable(notice), "recipient": to_jsonable(contact)},
    )
    log.info(
        "event %s: %s %s redeemed on invoice %s, delivery %s",
        event.id,
        data.amount,
        data.currency,
        data.invoice_number,
        delivery_id,
    )
    return [deliver_member(delivery_id)]


async def _redeem(app: ServiceContext, event: Event) -> dict[str, Any]:
    data, store = event.data, app.store
    account = await store.orders.load_account(data.account_id)
    for _ in range(MAX_REDEEM_ATTEMPTS):
        raw_lots = await store.rewards.reward_lots(data.account_id)
        redeemed = await store.rewards.rewards_redeemed(data.invoice_number)
        try:
            plan = plan_redemption(
                [_LOT.validate_json(raw) for raw in raw_lots.values()],
                amount=data.amount,
                currency=data.currency,
                invoice_excl_tax=data.invoice_amount_excl_tax,
                invoice_tax=data.invoice_tax,
                already_redeemed=_decimal(redeemed),
                redeemed_on=data.redeemed_at.date(),
            )
        except RewardsUnavailable as exc:
            await _wait_or_reject(app, event, exc.field, exc.reason)
            raise  # unreachable: _wait_or_reject always raises
        except RedemptionRejected as exc:
            raise InvalidEvent(event.id, exc.field, exc.reason) from None
        record = {
            "account_id": data.account_id,
            "account_name": account.name if account else "",
            "invoice_number": data.invoice_number,
            "amount": str(data.amount),
            "cumulative_redeemed": str(plan.cumulative_redeemed),
            "remaining_due": str(plan.remaining_due),
            "lots": [
                {"lot_id": a.lot_id, "amount": str(a.amount), "expires_on": a.expires_on.isoformat()}
                for a in plan.allocations
            ],
        }
        changes = [(lot.lot_id, raw_lots[lot.lot_id], _LOT.dump_json(lot).decode()) for lot in plan.lots_after]
        result = await store.rewards.redeem_rewards(
            event.id,
            account_id=data.account_id,
            invoice_number=data.invoice_number,
            expected_redeemed=redeemed,
            new_redeemed=str(plan.cumulative_redeemed),
            lot_changes=changes,
            record=record,
        )
        if result == "applied":
            return record
        if result == "done":
            stored = await store.rewards.redemption(event.id)
            assert stored is not None
            return stored
    raise TransientError(f"event {event.id}: redemption kept losing races with others; will retry")


def _decimal(value: str) -> Decimal:
    return Decimal(value) if value else Decimal(0)
