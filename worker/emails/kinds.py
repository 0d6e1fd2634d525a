"""For each email kind: the template context of a delivery. The code for one kind only builds
its context; rendering and sending are shared."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from worker.data.countries import invoice_payment_options
from worker.domain.model import Contact
from worker.domain.notices import CardFailure, RedemptionNotice, RewardNotice, from_jsonable
from worker.errors import PermanentError
from worker.store.store import Store

ContextBuilder = Callable[[Store, dict[str, Any]], Awaitable[dict[str, Any]]]


class MissingBusinessRecord(PermanentError):
    def __init__(self, delivery_id: str, what: str) -> None:
        super().__init__(f"delivery {delivery_id}: {what} not found")


async def invoice_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    invoice = await store.load_invoice(delivery["key"])
    if invoice is None:
        raise MissingBusinessRecord(f"invoice:{delivery['key']}", f"invoice {delivery['key']}")
    return {"invoice": invoice, "recipient": invoice.billing_contact, "payment": invoice_payment_options(invoice)}


def bounce_notice_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The bounce notice's template context from its stored (JSON) context. No amounts, no secrets."""
    contact = data["recipient"]
    return {
        "recipient": Contact(contact["name"], contact["email"], contact.get("locale")),
        "bounced_address": data["bounced_address"],
        "account_name": data.get("account_name", ""),
        "status": data["status"],
        "reported_on": date.fromisoformat(data["reported_on"]),
    }


async def bounce_notice_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    return bounce_notice_fields(delivery["context"])


def card_failed_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "notice": from_jsonable(CardFailure, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
    }


def rewards_code_fields(data: dict[str, Any], redemption_code: str) -> dict[str, Any]:
    return {
        "notice": from_jsonable(RewardNotice, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
        "redemption_code": redemption_code,
    }


def redemption_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "notice": from_jsonable(RedemptionNotice, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
    }


async def card_failed_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    return card_failed_fields(delivery["context"])


async def rewards_code_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    """The code is read from its sealed key here, the only place it leaves Redis before sending."""
    code = await store.unseal(delivery["context"]["code_ref"])
    if code is None:
        raise MissingBusinessRecord(
            f"rewards_code:{delivery['key']}", "the redemption code (its sealed copy expired: SEALED_SECRET_TTL_S)"
        )
    return rewards_code_fields(delivery["context"], code)


async def redemption_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    return redemption_fields(delivery["context"])


#: Kinds whose built message holds a secret: its bytes are deleted once every recipient is final.
SECRET_MESSAGE_KINDS = frozenset({"rewards_code"})


async def forget_secrets(store: Store, delivery_id: str, delivery: dict[str, Any], *, final: bool) -> None:
    """Called once a delivery's message is built and stored (`final` False), and once every
    recipient is final (`final` True): drop the secrets the delivery no longer needs."""
    code_ref = delivery["context"].get("code_ref")
    if code_ref:
        await store.forget_sealed(code_ref)
    if final and delivery["kind"] in SECRET_MESSAGE_KINDS:
        await store.forget_message(delivery_id)


#: kind -> async builder of its template context.
CONTEXT_BUILDERS: dict[str, ContextBuilder] = {
    "invoice": invoice_context,
    "bounce_notice": bounce_notice_context,
    "card_failed": card_failed_context,
    "rewards_code": rewards_code_context,
    "redemption": redemption_context,
}
