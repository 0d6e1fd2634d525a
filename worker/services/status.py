"""`invoice-worker status`: what was sent, to whom, and each recipient's delivery state."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from worker.domain.model import Invoice
from worker.emails.kinds import (
    CARD_FAILED,
    INVOICE,
    OVERDUE_REMINDER,
    PAYMENT_RECEIVED,
    PAYMENT_REMINDER,
    REDEMPTION,
    kind,
    kind_of_delivery,
)
from worker.services.printable import printable
from worker.store.store import Store


async def collect_status(
    redis_url: str,
    prefix: str,
    *,
    invoice: str | None = None,
    today: date | None = None,
    since: datetime | None = None,
    of_kind: str | None = None,
) -> list[dict[str, Any]]:
    """Every delivery (or those about `invoice`; created at or after `since`; of `of_kind`), with
    each invoice's ledger as of `today` (UTC by default).

    Read in pages of `STATUS_PAGE` deliveries whose reads go to Redis together (the store
    pipelines what one turn of the event loop sends), and narrowed before anything is read:
    `since` by the index's scores (creation times), `of_kind` by the delivery ids. One delivery at
    a time, a million deliveries were ~8 million round trips."""
    today = today or datetime.now(UTC).date()
    async with Store.open(redis_url, prefix=prefix) as store:
        candidates = await store.deliveries.delivery_ids(since=since.timestamp() if since else None)
        if of_kind is not None:
            candidates = [d for d in candidates if kind_of_delivery(d) == of_kind]
        if invoice:  # the invoice's email, its re-sent copies, then every other email about it
            ids = [kind(INVOICE).delivery_id(invoice), *await store.documents.copies(invoice)]
            about = [d for d in candidates if d not in ids and kind_of_delivery(d) in ABOUT_AN_INVOICE]
            for page in _pages(about):
                loaded = await asyncio.gather(*(store.deliveries.load_delivery(d) for d in page))
                ids += [d for d, delivery in zip(page, loaded, strict=True) if delivery and delivery["key"] == invoice]
            if since is not None or of_kind is not None:
                wanted = set(candidates)
                ids = [d for d in ids if d in wanted]
        else:
            ids = candidates
        rows = []
        for page in _pages(ids):
            rows += [row for row in await asyncio.gather(*(_row(store, d, today) for d in page)) if row is not None]
        return rows


#: Deliveries read together by `collect_status`.
STATUS_PAGE = 200


def _pages(ids: list[str]) -> list[list[str]]:
    return [ids[n : n + STATUS_PAGE] for n in range(0, len(ids), STATUS_PAGE)]


async def _row(store: Store, delivery_id: str, today: date) -> dict[str, Any] | None:
    """What `status` shows of one delivery, or None (no such delivery)."""
    delivery, states, history = await asyncio.gather(
        store.deliveries.load_delivery(delivery_id),
        store.deliveries.recipient_states(delivery_id),
        store.deliveries.delivery_log(delivery_id),
    )
    if delivery is None:
        return None
    row: dict[str, Any] = {
        "delivery": delivery_id,
        "kind": delivery["kind"],
        "key": delivery["key"],
        "locale": delivery["locale"],
        "created_at": datetime.fromtimestamp(delivery["created_at"], UTC).isoformat(),
        "message_id": delivery.get("message_id"),
        "recipients": [
            {
                "address": address,
                "role": st.role,
                "state": str(st.state),
                "attempts": st.attempts,
                "last_reply": st.reply,
                "next_attempt_at": (
                    datetime.fromtimestamp(st.next_attempt_at, UTC).isoformat() if st.next_attempt_at else None
                ),
            }
            for address, st in _in_envelope_order(delivery["recipients"], states)
        ],
    }
    if delivery["kind"] == INVOICE:
        inv = await store.deliveries.load_invoice(delivery["key"])
        if inv is not None:
            row["invoice"] = {
                "number": inv.number,
                "order_id": inv.order_id,
                "issued_on": inv.issued_on.isoformat(),
                "due_on": inv.due_on.isoformat(),
                "currency": inv.currency,
                "total": str(inv.total),
                "split_reason": inv.split_reason,
            }
            row["ledger"] = await _ledger(store, inv, today)
        row["documents"] = await store.documents.summary(delivery["key"])
        if delivery["context"].get("copy"):
            row["copy_of"] = delivery["context"].get("copy_of")
    row["history"] = history
    return row


#: The kinds of email about one invoice, besides the invoice email itself (`status --invoice`).
ABOUT_AN_INVOICE = frozenset({PAYMENT_RECEIVED, PAYMENT_REMINDER, OVERDUE_REMINDER, CARD_FAILED, REDEMPTION})


async def _ledger(store: Store, invoice: Invoice, today: date) -> dict[str, Any]:
    """The invoice's balance and state today, and its life since it was issued."""
    ledger = await store.ledgers.load(invoice)
    return {
        "state": ledger.state(today),
        "total": str(ledger.total),
        "covered": str(ledger.covered),
        "balance": str(ledger.balance),
        "overpaid": str(ledger.overpaid),
        "dispute": ledger.dispute,
        "credited_by": ledger.credited_by,
        # What was paid on the account's credited invoices and applied to nothing yet.
        "account_credit": str(await store.ledgers.account_credit(invoice.account_id)),
        "history": await store.ledgers.history(invoice.number),
    }


def _ledger_lines(ledger: dict[str, Any] | None, currency: str, *, history: bool) -> list[str]:
    if ledger is None:
        return []
    line = f"    ledger: {ledger['state']}  paid {currency} {ledger['covered']} of {ledger['total']}"
    line += f"  balance {ledger['balance']}"
    if Decimal(ledger["overpaid"]) > 0:
        line += f"  overpaid {ledger['overpaid']}"
    if ledger.get("credited_by"):
        line += f"  credited by {ledger['credited_by']}"
    if Decimal(ledger.get("account_credit") or 0) > 0:
        line += f"  account credit {currency} {ledger['account_credit']}"
    lines = [line]
    if history:
        for entry in ledger["history"]:
            details = "  ".join(f"{k}={v}" for k, v in entry.items() if k not in ("at", "what"))
            lines.append(f"      {entry['at']}  {entry['what']}  {details}".rstrip())
    return lines


def filter_rows(
    rows: list[dict[str, Any]], *, state: str | None = None, since: datetime | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The deliveries an operator asked for: of `kind`, created at or after `since`, with at
    least one recipient in `state` (`deferred`, `rejected`, ...)."""
    return [
        row
        for row in rows
        if (kind is None or row["kind"] == kind)
        and (since is None or datetime.fromisoformat(row["created_at"]) >= since)
        and (state is None or any(r["state"] == state for r in row["recipients"]))
    ]


def _in_envelope_order(payload: dict[str, list[dict[str, str]]], states: dict) -> list:
    """Recipients as addressed (To first, then Cc), whatever order Redis keeps them in."""
    order = [c["email"] for role in ("to", "cc") for c in payload.get(role, [])]
    ordered = [(a, states[a]) for a in order if a in states]
    return ordered + [(a, st) for a, st in states.items() if a not in order]


def _history_lines(entries: list[dict[str, Any]]) -> list[str]:
    """Each attempt or report of a delivery, oldest first, one line per recipient touched."""
    lines = []
    for entry in entries:
        at = entry.get("at")
        when = (
            datetime.fromtimestamp(float(at), UTC).isoformat(timespec="seconds")
            if isinstance(at, (int, float))
            else str(at or "")
        )
        details = {k: v for k, v in entry.items() if k != "at"}
        for what, value in details.items():
            if what == "bounce" and isinstance(value, dict):
                lines.append(f"      {when}  {what:<9} {_bounce_text(value)}")
            elif isinstance(value, dict):
                for address, outcome in value.items():
                    text = " ".join(str(v) for v in outcome.values()) if isinstance(outcome, dict) else str(outcome)
                    lines.append(f"      {when}  {what:<9} {address}: {text}")
            else:
                lines.append(f"      {when}  {what:<9} {value}")
    return lines


def _documents_lines(documents: dict[str, Any] | None) -> list[str]:
    """What an invoice's email carries, and why that e-invoice; or the rules that held it."""
    if not documents:
        return []
    lines = []
    if documents.get("files"):
        inside = f" (with {documents['embedded']} inside)" if documents.get("embedded") else ""
        files = ", ".join(documents["files"])
        lines.append(f"    documents: {files}{inside}; e-invoice: {documents['reason']}")
    if "held" in documents and not documents.get("files"):
        held = documents["held"]
        lines.append(f"    held: the {held['einvoice']} e-invoice breaks {len(held['rules'])} rule(s); nothing sent")
        lines.extend(f"      [{r['rule_id']}] {r['text']} ({r['at']}: {r['detail']})" for r in held["rules"])
    return lines


def _bounce_text(record: dict[str, Any]) -> str:
    """A bounce report as one line: recipient, what the report said (kind, action, DSN status,
    diagnostic) and what it did: ``a@b.example: dsn failed 5.1.1 (smtp; 550 ...) -> bounced``."""
    said = " ".join(str(record[k]) for k in ("report", "action", "status") if record.get(k))
    if record.get("diagnostic"):
        said += f" ({record['diagnostic']})"
    effect = f" -> {record['effect']}" if record.get("effect") else ""
    return f"{record.get('recipient', '?')}: {said}{effect}"


def format_status(rows: list[dict[str, Any]], *, history: bool = False) -> str:
    if not rows:
        return "nothing sent yet"
    out: list[str] = []
    for row in rows:
        head = f"{row['delivery']}  [{row['locale']}]"
        if "invoice" in row:
            inv = row["invoice"]
            head += f"  order {inv['order_id']}  {inv['currency']} {inv['total']}"
            head += f"  issued {inv['issued_on']}  due {inv['due_on']}"
            if inv.get("split_reason"):
                head += f"  ({inv['split_reason']})"
        out.append(head)
        if row.get("copy_of") is not None:
            out.append(f"    a re-sent copy of {row['copy_of'] or 'the invoice email'}")
        if "invoice" in row:
            out.extend(_ledger_lines(row.get("ledger"), row["invoice"]["currency"], history=history))
        out.extend(_documents_lines(row.get("documents")))
        for r in row["recipients"]:
            line = f"    {r['role']:<2} {r['address']:<36} {r['state']:<10} attempts={r['attempts']}  {r['last_reply']}"
            if r["next_attempt_at"]:
                line += f"  next try {r['next_attempt_at']}"
            out.append(line)
        if history and row.get("history"):
            out.append("    history:")
            out.extend(_history_lines(row["history"]))
    # Addresses, replies and diagnostics come from outside: none may start a line of its own.
    return "\n".join(printable(line) for line in out)


async def collect_dead_letters(redis_url: str, prefix: str) -> list[dict[str, Any]]:
    async with Store.open(redis_url, prefix=prefix) as store:
        return await store.events.dead_letters()


async def collect_skipped(redis_url: str, prefix: str) -> list[dict[str, Any]]:
    """Valid events that had no effect by rule (e.g. an account not eligible for rewards), with why."""
    async with Store.open(redis_url, prefix=prefix) as store:
        return await store.events.skipped()
