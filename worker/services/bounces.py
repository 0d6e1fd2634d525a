"""Apply an inbound bounce to the store: the thin adapter between the bounce listener and the
pure parts (domain/verp.py signs the return paths, domain/bounces.py reads the report and
decides); the return paths' tokens are kept in the store (`store.return_paths`), as they are too
short to carry what they name.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from worker.domain.bounces import BounceDecision, BounceReport, classify_bounce, decide_bounce
from worker.domain.model import Contact
from worker.domain.verp import (
    VERP_PREFIX,
    InvalidVerpToken,
    VerpTarget,
    parse_return_path,
    return_path_token,
    verify_target,
)
from worker.emails.kinds import BOUNCE_NOTICE, INVOICE, kind, kind_of_delivery
from worker.services.context import ServiceContext
from worker.services.deliveries import create_delivery
from worker.services.log_context import about, mask_addresses, recipient_domain
from worker.store.due_members import deliver_member

log = logging.getLogger(__name__)

#: How long a bounce message is remembered, so that a redelivered copy has no second effect (s).
BOUNCE_SEEN_TTL_S = 30 * 86400
#: How long what a VERP token names is kept after each send with it (s): a DSN can come days
#: later (a relay retries a deferred message for up to 5 days, then reports).
RETURN_PATH_TTL_S = 30 * 86400
#: How long to wait for a delivery's lock held by a worker sending it (s).
LOCK_WAIT_S = 10.0


@dataclass(frozen=True)
class BounceResult:
    target: VerpTarget | None
    report: BounceReport | None
    decision: BounceDecision | None
    #: Deliveries created to tell the account contacts (empty when none, or within the period).
    notices: tuple[str, ...] = ()
    duplicate: bool = False


async def issue_return_paths(app: ServiceContext, delivery_id: str, recipients: list[str]) -> dict[str, str]:
    """The VERP return path of each recipient's copy (at most 64 octets before the @), with what
    each token names kept for RETURN_PATH_TTL_S (renewed by every send), in one round trip."""
    secret = app.policy.bounce_secret
    assert secret is not None, "VERP needs BOUNCE_SECRET"
    tokens = {recipient: return_path_token(delivery_id, recipient, secret) for recipient in recipients}
    await asyncio.gather(
        *(
            app.store.return_paths.remember(token, VerpTarget(delivery_id, recipient), ttl_s=RETURN_PATH_TTL_S)
            for recipient, token in tokens.items()
        )
    )
    return {recipient: f"{VERP_PREFIX}{token}@{app.policy.bounce_domain}" for recipient, token in tokens.items()}


async def target_of(app: ServiceContext, rcpt: str) -> VerpTarget:
    """The delivery and recipient a return path names.

    Raises:
      InvalidVerpToken: not our return path, never issued (or expired), forged, or bounces are
        not configured.
    """
    secret = app.policy.bounce_secret
    if secret is None:
        raise InvalidVerpToken("bounces are not configured (no BOUNCE_SECRET)")
    path = parse_return_path(rcpt, secret)
    if path.legacy is not None:
        return path.legacy
    target = await app.store.return_paths.target(path.token)
    if target is None:
        raise InvalidVerpToken("no such return path was issued (or it expired)")
    return verify_target(path.token, target, secret)


async def apply_bounce(app: ServiceContext, rcpt: str, raw: bytes) -> BounceResult:
    """Record what the bounce for return path `rcpt` reports, and act on it.

    Raises:
      InvalidVerpToken: `rcpt` is not a genuine return path of ours.
    """
    target = await target_of(app, rcpt)
    store = app.store
    digest = hashlib.sha256(rcpt.lower().encode() + b"\0" + raw).hexdigest()
    if not await store.deliveries.first_sight_of_bounce(digest, BOUNCE_SEEN_TTL_S):
        log.info("bounce for %s (at %s) seen before: no effect", target.delivery_id, recipient_domain(target.recipient))
        return BounceResult(target, None, None, duplicate=True)
    # compat32 Message: what flufl.bounce's detectors expect.
    report = classify_bounce(email.message_from_bytes(raw, policy=email.policy.compat32))
    now = app.clock().timestamp()
    token = await _lock(app, target.delivery_id)
    try:
        states = await store.deliveries.recipient_states(target.delivery_id)
        current = states.get(target.recipient)
        decision = decide_bounce(
            report,
            target.recipient,
            current,
            now=now,
            resend_delay_s=app.policy.bounce_resend_delay_s,
            resend_max=app.policy.bounce_resend_max,
        )
        log_entry = {"at": now, "bounce": decision.record}
        if current is not None and decision.new_state is not None:
            await store.deliveries.save_recipient_states(
                target.delivery_id, {target.recipient: decision.new_state}, log=log_entry
            )
            app.metrics.count_outcomes(kind_of_delivery(target.delivery_id), {target.recipient: decision.new_state})
        else:
            await store.deliveries.append_delivery_log(target.delivery_id, log_entry)
        if decision.resend_at is not None:
            await asyncio.gather(  # one round trip: the resend is due, and counts as a retry
                store.due.mark_due(deliver_member(target.delivery_id), decision.resend_at),
                store.deliveries.mark_retrying(target.delivery_id, decision.resend_at),
            )
    finally:
        await store.due.release_lock(f"delivery:{target.delivery_id}", token)
    with about(recipient_domain=recipient_domain(target.recipient)):
        log.info(
            "bounce for %s -> %s: %s",
            target.delivery_id,
            recipient_domain(target.recipient),
            mask_addresses(decision.summary),
        )
    notices: tuple[str, ...] = ()
    if decision.suppress:
        until = now + app.policy.suppression_ttl_s
        await store.deliveries.suppress(
            target.recipient, reason=decision.summary, source=target.delivery_id, at=now, until=until
        )
        if current is not None and current.role == "to":
            notices = await _notify_account_contacts(app, target, decision, now)
    return BounceResult(target, report, decision, notices)


async def _lock(app: ServiceContext, delivery_id: str) -> str:
    """The delivery's lock: a bounce must not interleave with an attempt on the same delivery."""
    deadline = asyncio.get_running_loop().time() + LOCK_WAIT_S
    while True:
        token = await app.store.due.acquire_lock(f"delivery:{delivery_id}", app.policy.due_lease_s)
        if token is not None:
            return token
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"delivery {delivery_id} stayed locked for {LOCK_WAIT_S} s")
        await asyncio.sleep(0.05)


async def _notify_account_contacts(
    app: ServiceContext, target: VerpTarget, decision: BounceDecision, now: float
) -> tuple[str, ...]:
    """Tell the account-level contacts (the invoice's Cc) that invoice mail to the billing
    address fails; at most once per address per BOUNCE_NOTICE_PERIOD_S."""
    store = app.store
    delivery = await store.deliveries.load_delivery(target.delivery_id)
    if delivery is None or delivery["kind"] != INVOICE:
        return ()
    invoice = await store.deliveries.load_invoice(delivery["key"])
    account = await store.orders.load_account(invoice.account_id) if invoice else None
    cc = [Contact(c["name"], c["email"]) for c in delivery["recipients"].get("cc", [])]
    if not cc or not await store.deliveries.claim_bounce_notice(target.recipient, app.policy.bounce_notice_period_s):
        return ()
    known = {c.email.casefold(): c for c in (account.dunning, account.account_relationship) if c} if account else {}
    reported_on = datetime.fromtimestamp(now, UTC).date().isoformat()
    created = []
    for contact in cc:
        full = known.get(contact.email.casefold(), contact)
        notice_id = kind(BOUNCE_NOTICE).delivery_id(target.recipient, contact.email, str(int(now)))
        context = {
            "recipient": {"name": full.name, "email": full.email},
            "bounced_address": target.recipient,
            "account_name": account.name if account else (invoice.account_name if invoice else ""),
            "status": decision.status,
            "reported_on": reported_on,
        }
        made = await create_delivery(
            app,
            BOUNCE_NOTICE,
            notice_id,
            key=target.recipient,
            to=full,
            account=account,
            context=context,
            now=datetime.fromtimestamp(now, UTC),
        )
        if made:
            created.append(notice_id)
    log.info(
        "billing address at %s bounces: notice to %d contact(s) at %s",
        recipient_domain(target.recipient),
        len(cc),
        ", ".join(sorted({recipient_domain(c.email) for c in cc})),
    )
    return tuple(created)
