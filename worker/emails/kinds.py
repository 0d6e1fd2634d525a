"""The email kinds: each is declared once here, with ``@_email(NAME, ...)`` on its context builder.

A kind's declaration says everything the rest of the worker needs to know about it:

- its name (what a delivery stores as its ``kind``, and the first part of its delivery id);
- its templates, ``templates/email/<name>/{subject.txt, body.mjml, body.txt}``;
- its preview fixture, ``fixtures/preview/<name>.json`` (`invoice-worker preview`, the gallery);
- who receives it (a rule from the addressee and the account to the To and Cc);
- what the sending service loads for it besides the delivery's stored context (the invoice, a
  sealed secret), and whether the built message carries a secret (deleted once sent);
- how its template context is built from that data (the decorated function).

The builders are pure: they receive the data (loaded by `worker.services.sending`, or read from
the preview fixture), never the store. Rendering, sending and creating a delivery are shared.

To add a kind: the steps are in `_email`'s docstring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from worker.data.countries import invoice_payment_options
from worker.domain.model import Account, Contact, Invoice, Recipients
from worker.domain.notices import (
    CardFailure,
    CreditNotice,
    PaymentNotice,
    RedemptionNotice,
    ReminderNotice,
    RewardNotice,
    from_jsonable,
)
from worker.domain.recipients import addressee_only, resolve_dunning_recipients, resolve_recipients
from worker.errors import PermanentError
from worker.resources import fixtures_dir, templates_dir

#: The kinds' names: services use these, never the string literals.
INVOICE = "invoice"
BOUNCE_NOTICE = "bounce_notice"
CARD_FAILED = "card_failed"
REWARDS_CODE = "rewards_code"
REDEMPTION = "redemption"
PAYMENT_RECEIVED = "payment_received"
PAYMENT_REMINDER = "payment_reminder"
OVERDUE_REMINDER = "overdue_reminder"
CREDIT_NOTE = "credit_note"

#: A builder: the kind's fields (its stored context plus what was loaded for it) -> template context.
ContextBuilder = Callable[[Mapping[str, Any]], dict[str, Any]]
#: A recipient rule: (the addressee, the account or None) -> To and Cc.
RecipientRule = Callable[[Contact, Account | None], Recipients]


class Loads(StrEnum):
    """What the sending service loads for a kind besides the delivery's stored context; the
    value is the field the builder finds it under."""

    #: Nothing: the stored context is all the builder needs.
    NOTHING = ""
    #: The `Invoice` the delivery's key names (a delivery that is gone fails permanently).
    INVOICE = "invoice"
    #: The secret sealed under the context's ``code_ref`` (read once, just before sending).
    SEALED_CODE = "redemption_code"


class MissingBusinessRecord(PermanentError):
    def __init__(self, delivery_id: str, what: str) -> None:
        super().__init__(f"delivery {delivery_id}: {what} not found")


@dataclass(frozen=True)
class EmailKind:
    name: str
    build: ContextBuilder
    recipients: RecipientRule
    #: Who receives it, in a few words (shown by the gallery).
    who: str
    loads: Loads = Loads.NOTHING
    #: The built message holds a secret: its bytes are deleted once every recipient is final.
    secret: bool = False
    #: The preview fixture's JSON -> the builder's fields (default: the fixture is the fields).
    preview_fields: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None
    #: It carries the invoice's documents (its PDF, its e-invoice): `worker.services.documents`.
    documents: bool = False

    @property
    def template_dir(self) -> Path:
        return templates_dir() / self.name

    @property
    def preview_fixture(self) -> Path:
        return fixtures_dir() / "preview" / f"{self.name}.json"

    def delivery_id(self, *parts: str) -> str:
        """``<name>:<part>:...``, e.g. ``card_failed:<event id>``, ``rewards_code:<account>:<month>``."""
        return ":".join((self.name, *parts))

    def preview_context(self) -> dict[str, Any]:
        """The template context from the kind's preview fixture (example data, never a real secret)."""
        data = json.loads(self.preview_fixture.read_text(encoding="utf-8"))
        return self.build(self.preview_fields(data) if self.preview_fields else data)


#: name -> its declaration, in declaration order.
KINDS: dict[str, EmailKind] = {}


def _email(
    name: str,
    *,
    recipients: RecipientRule,
    who: str,
    loads: Loads = Loads.NOTHING,
    secret: bool = False,
    preview_fields: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    documents: bool = False,
) -> Callable[[ContextBuilder], ContextBuilder]:
    """Register the decorated context builder as email kind `name`.

    A new kind: a name constant above; its builder here, decorated; its templates in
    ``templates/email/<name>/`` (and msgids in the catalogs); ``fixtures/preview/<name>.json``; a
    service that calls `worker.services.deliveries.create_delivery(app, NAME, ...)`. The tests
    check that every registered kind has templates and a fixture, and every template folder a kind.
    """

    def register(build: ContextBuilder) -> ContextBuilder:
        if name in KINDS:
            raise ValueError(f"email kind {name!r} declared twice")
        KINDS[name] = EmailKind(name, build, recipients, who, loads, secret, preview_fields, documents)
        return build

    return register


def kind_of_delivery(delivery_id: str) -> str:
    """The kind a delivery id names: its first part (`EmailKind.delivery_id`)."""
    return delivery_id.partition(":")[0]


def kind(name: str) -> EmailKind:
    """Raises LookupError: no such kind."""
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"unknown email kind {name!r}; known: {', '.join(sorted(KINDS))}") from None


def _invoice_fixture(data: dict[str, Any]) -> dict[str, Any]:
    return {"invoice": TypeAdapter(Invoice).validate_python(data)}


@_email(
    INVOICE,
    recipients=resolve_recipients,
    who="billing contact (To); the account's dunning and account-relationship contacts (Cc)",
    loads=Loads.INVOICE,
    preview_fields=_invoice_fixture,
    documents=True,
)
def invoice_context(fields: Mapping[str, Any]) -> dict[str, Any]:
    invoice: Invoice = fields["invoice"]
    return {"invoice": invoice, "recipient": invoice.billing_contact, "payment": invoice_payment_options(invoice)}


@_email(
    BOUNCE_NOTICE,
    recipients=addressee_only,
    who="each Cc contact of an invoice whose billing address bounces, alone (To); no amounts, no secrets",
)
def bounce_notice_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The bounce notice's template context from its stored (JSON) context. No amounts, no secrets."""
    contact = data["recipient"]
    return {
        "recipient": Contact(contact["name"], contact["email"], contact.get("locale")),
        "bounced_address": data["bounced_address"],
        "account_name": data.get("account_name", ""),
        "status": data["status"],
        "reported_on": date.fromisoformat(data["reported_on"]),
    }


@_email(
    CARD_FAILED,
    recipients=resolve_dunning_recipients,
    who="billing contact (To); the account's dunning contact (Cc)",
)
def card_failed_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notice": from_jsonable(CardFailure, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
    }


@_email(
    REWARDS_CODE,
    recipients=addressee_only,
    who="billing contact alone (To): the code is a secret, never copied",
    loads=Loads.SEALED_CODE,
    secret=True,
)
def rewards_code_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The code comes from its sealed key (sending) or the fixture's made-up example (preview)."""
    return {
        "notice": from_jsonable(RewardNotice, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
        "redemption_code": data["redemption_code"],
    }


@_email(REDEMPTION, recipients=addressee_only, who="billing contact alone (To)")
def redemption_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notice": from_jsonable(RedemptionNotice, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
    }


@_email(PAYMENT_RECEIVED, recipients=addressee_only, who="billing contact alone (To)")
def payment_received_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "notice": from_jsonable(PaymentNotice, data["notice"]),
        "recipient": from_jsonable(Contact, data["recipient"]),
    }


def _with_invoice_fixture(data: dict[str, Any]) -> dict[str, Any]:
    """A fixture whose `invoice` (a reminder's, or the credit note itself) is an `Invoice`."""
    return {**data, "invoice": TypeAdapter(Invoice).validate_python(data["invoice"])}


def reminder_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Both reminders' context (registered below for each: they differ in recipients only)."""
    invoice: Invoice = fields["invoice"]
    return {
        "notice": from_jsonable(ReminderNotice, fields["notice"]),
        "invoice": invoice,
        "recipient": from_jsonable(Contact, fields["recipient"]),
        "payment": invoice_payment_options(invoice),
    }


for _name, _rule, _who in (
    (PAYMENT_REMINDER, addressee_only, "billing contact alone (To), before the due date"),
    (OVERDUE_REMINDER, resolve_dunning_recipients, "billing contact (To), the dunning contact (Cc), once overdue"),
):
    _email(
        _name,
        recipients=_rule,
        who=f"{_who}, with the invoice's documents",
        loads=Loads.INVOICE,
        preview_fields=_with_invoice_fixture,
        documents=True,
    )(reminder_fields)


@_email(
    CREDIT_NOTE,
    recipients=resolve_recipients,
    who="billing contact (To); the account's dunning and account-relationship contacts (Cc); with its documents",
    loads=Loads.INVOICE,
    preview_fields=_with_invoice_fixture,
    documents=True,
)
def credit_note_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`invoice` is the credit note itself (an `Invoice` whose `credits` names what it cancels)."""
    return {
        "notice": from_jsonable(CreditNotice, fields["notice"]),
        "invoice": fields["invoice"],
        "recipient": from_jsonable(Contact, fields["recipient"]),
    }
