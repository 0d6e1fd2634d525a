"""Builders of contract events (shared/CONTRACT.md) for tests, defaulting to the contract example."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def _event(event_type: str, occurred_at: str, data: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {"id": event_id or f"t{next(_ids)}", "type": event_type, "occurred_at": occurred_at, "data": data}


def contact(name: str, email: str, locale: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "email": email}
    if locale:
        out["locale"] = locale
    return out


def account_updated(
    account_id: str = "A-100",
    *,
    country: str = "NL",
    name: str = "Acme B.V.",
    sector: str = "commercial",
    dunning: dict | None = None,
    relationship: dict | None = None,
    occurred_at: str = "2026-01-01T08:00:00Z",
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    contacts = {
        "dunning": dunning if dunning is not None else contact("Debiteuren", "ar@acme.example"),
        "account_relationship": relationship if relationship is not None else contact("Jan Jansen", "jan@acme.example"),
    }
    data = {
        "account_id": account_id,
        "name": name,
        "country": country,
        "sector": sector,
        "ula": False,
        "pay_as_you_go": False,
        "contacts": contacts,
        **extra,
    }
    return _event("account.updated", occurred_at, data, event_id)


def line(
    line_id: str,
    product: str,
    kind: str = "paas",
    annual_amount: str = "24000.00",
    tax_rate: str = "0.21",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "line_id": line_id,
        "product": product,
        "kind": kind,
        "annual_amount": annual_amount,
        "tax_rate": tax_rate,
        **extra,
    }


def order_booked(
    order_id: str = "O-1",
    *,
    account_id: str = "A-100",
    lines: list[dict] | None = None,
    billing_contact: dict | None = None,
    po_number: str | None = "PO-77",
    currency: str = "USD",
    term: tuple[str, str] = ("2026-01-01", "2026-12-31"),
    billing_frequency: str = "annual_in_advance",
    payment_method: str = "invoice",
    subscription_id: str = "S-1",
    occurred_at: str = "2026-01-01T08:30:00Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "order_id": order_id,
        "account_id": account_id,
        "subscription_id": subscription_id,
        "billing_contact": billing_contact or contact("Els de Vries", "els@acme.example", "nl-NL"),
        "po_number": po_number,
        "payment_method": payment_method,
        "currency": currency,
        "billing_frequency": billing_frequency,
        "term": {"start": term[0], "end": term[1]},
        "lines": lines or [line("L1", "Compute"), line("L2", "Fusion ERP", kind="saas")],
    }
    return _event("order.booked", occurred_at, data, event_id)


def service_activated(order_id: str, line_id: str, at: str, *, event_id: str | None = None) -> dict[str, Any]:
    return _event("service.activated", at, {"order_id": order_id, "line_id": line_id, "activated_at": at}, event_id)


def contract_example() -> list[dict[str, Any]]:
    """Events e1..e4 of CONTRACT.md, verbatim in meaning."""
    return [
        account_updated(event_id="e1"),
        order_booked(event_id="e2"),
        service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="e3"),
        service_activated("O-1", "L2", "2026-02-01T09:00:00Z", event_id="e4"),
    ]


def card_failed(
    invoice_number: str = "INV-0000001",
    *,
    account_id: str = "A-100",
    amount: str = "29040.00",
    currency: str = "USD",
    reason: str | None = None,
    billing_contact: dict | None = None,
    at: str = "2026-02-16T10:15:00Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "invoice_number": invoice_number,
        "account_id": account_id,
        "amount": amount,
        "currency": currency,
        "failed_at": at,
    }
    if reason is not None:
        data["reason"] = reason
    if billing_contact is not None:
        data["billing_contact"] = billing_contact
    return _event("payment.card_failed", at, data, event_id)


def rewards_accrued(
    month: str = "2026-01",
    *,
    account_id: str = "A-100",
    usage: list[tuple[str, str, str]] | None = None,
    code: str = "RWD-TEST-0001",
    currency: str = "USD",
    billing_contact: dict | None = None,
    occurred_at: str = "2026-02-01T00:00:00Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    """`usage` as (service, category, net_amount) triples."""
    usage = usage if usage is not None else [("Compute", "oci", "4000.00")]
    data = {
        "account_id": account_id,
        "month": month,
        "usage": [{"service": s, "category": c, "net_amount": a} for s, c, a in usage],
        "currency": currency,
        "redemption_code": code,
        "billing_contact": billing_contact or contact("Els de Vries", "els@acme.example", "nl-NL"),
    }
    return _event("rewards.accrued", occurred_at, data, event_id)


def rewards_redeemed(
    amount: str,
    *,
    invoice_number: str = "INV-0000001",
    account_id: str = "A-100",
    excl_tax: str = "24000.00",
    tax: str = "5040.00",
    currency: str = "USD",
    at: str = "2026-03-05T09:30:00Z",
    billing_contact: dict | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "account_id": account_id,
        "invoice_number": invoice_number,
        "invoice_amount_excl_tax": excl_tax,
        "invoice_tax": tax,
        "currency": currency,
        "amount": amount,
        "redeemed_at": at,
        "billing_contact": billing_contact or contact("Els de Vries", "els@acme.example", "nl-NL"),
    }
    return _event("rewards.redeemed", at, data, event_id)


def payment_received(
    amount: str,
    *,
    invoice_number: str = "INV-0000001",
    account_id: str = "A-100",
    currency: str = "USD",
    at: str = "2026-01-20T10:00:00Z",
    method: str = "bank_transfer",
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "invoice_number": invoice_number,
        "account_id": account_id,
        "amount": amount,
        "currency": currency,
        "received_at": at,
        "method": method,
    }
    return _event("payment.received", at, data, event_id)


def invoice_disputed(
    state: str = "open",
    *,
    invoice_number: str = "INV-0000001",
    account_id: str = "A-100",
    at: str = "2026-02-01T10:00:00Z",
    reason: str | None = "The PO number is wrong",
    event_id: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"invoice_number": invoice_number, "account_id": account_id, "at": at, "state": state}
    if reason is not None:
        data["reason"] = reason
    return _event("invoice.disputed", at, data, event_id)


def usage_line(
    line_id: str, kind: str, quantity: str, unit_price: str, amount: str, *, subscribed: str | None = None
) -> dict[str, Any]:
    out = {
        "line_id": line_id,
        "product": f"OCI Compute ({kind})",
        "kind": kind,
        "quantity": quantity,
        "unit": "OCPU-hour",
        "unit_price": unit_price,
        "amount": amount,
        "tax_rate": "0.21",
    }
    if subscribed is not None:
        out["subscribed_quantity"] = subscribed
    return out


def usage_rated(
    lines: list[dict[str, Any]],
    *,
    month: str = "2026-03",
    subscription_id: str = "S-9",
    account_id: str = "A-100",
    currency: str = "USD",
    at: str = "2026-04-01T02:00:00Z",
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "account_id": account_id,
        "subscription_id": subscription_id,
        "month": month,
        "currency": currency,
        "billing_contact": contact("Els de Vries", "els@acme.example", "nl-NL"),
        "lines": lines,
    }
    return _event("usage.rated", at, data, event_id)


def invoice_credited(
    *,
    reissue: bool,
    invoice_number: str = "INV-0000001",
    account_id: str = "A-100",
    at: str = "2026-01-25T10:00:00Z",
    reason: str = "The PO number on the invoice was wrong",
    event_id: str | None = None,
) -> dict[str, Any]:
    data = {
        "invoice_number": invoice_number,
        "account_id": account_id,
        "credited_at": at,
        "reason": reason,
        "reissue": reissue,
    }
    return _event("invoice.credited", at, data, event_id)
