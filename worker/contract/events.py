"""The event contract (shared/CONTRACT.md) as typed models, and its validation.

`parse_event` turns one JSON object into a typed event or raises `InvalidEvent` naming the event id
and the first offending field. `schema/events.schema.json` is generated from these models.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from worker.domain import model
from worker.domain.card_numbers import redact_card_numbers
from worker.domain.money import MINOR_UNITS
from worker.errors import InvalidEvent

_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _currency(value: str) -> str:
    if value not in MINOR_UNITS:
        raise ValueError(f"unknown ISO 4217 currency {value!r}")
    return value


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError(f"not an ISO 3166-1 alpha-2 country code: {value!r}")
    return value


def _one_line(value: str) -> str:
    # Names end up in headers and subjects: a line break there is header injection.
    if _LINE_BREAKS.search(value):
        raise ValueError("line breaks are not allowed")
    return value


def _utc_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a zone (RFC 3339)")
    return value


Currency = Annotated[str, AfterValidator(_currency)]
Country = Annotated[str, AfterValidator(_country)]
OneLine = Annotated[str, Field(min_length=1), AfterValidator(_one_line)]
Timestamp = Annotated[datetime, AfterValidator(_utc_aware)]
Amount = Annotated[Decimal, Field(allow_inf_nan=False)]


class _Model(BaseModel):
    # Producers may add optional fields (the contract allows it): ignore what we do not know.
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)


class ContactIn(_Model):
    name: OneLine
    email: EmailStr
    locale: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")

    def to_model(self) -> model.Contact:
        return model.Contact(name=self.name, email=str(self.email), locale=self.locale)


class AccountContactsIn(_Model):
    dunning: ContactIn | None = None
    account_relationship: ContactIn | None = None


class AccountUpdated(_Model):
    account_id: OneLine
    name: OneLine
    country: Country
    sector: Literal["commercial", "public", "us_government"]
    ula: bool
    pay_as_you_go: bool
    contacts: AccountContactsIn = AccountContactsIn()

    def to_model(self) -> model.Account:
        c = self.contacts
        return model.Account(
            account_id=self.account_id,
            name=self.name,
            country=self.country,
            sector=self.sector,
            ula=self.ula,
            pay_as_you_go=self.pay_as_you_go,
            dunning=c.dunning.to_model() if c.dunning else None,
            account_relationship=c.account_relationship.to_model() if c.account_relationship else None,
        )


class TermIn(_Model):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> TermIn:
        if self.end < self.start:
            raise ValueError("term.end is before term.start")
        return self


class OrderLineIn(_Model):
    line_id: OneLine
    product: OneLine
    kind: Literal["iaas", "paas", "saas", "support", "pooled"]
    annual_amount: Amount | None = Field(default=None, ge=0)
    total_contract_value: Amount | None = Field(default=None, ge=0)
    term_months: int | None = Field(default=None, gt=0)
    tax_rate: Amount = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _one_pricing(self) -> OrderLineIn:
        if self.annual_amount is None and (self.total_contract_value is None or self.term_months is None):
            raise ValueError("a line needs annual_amount, or total_contract_value with term_months")
        if self.annual_amount is not None and self.total_contract_value is not None:
            raise ValueError("a line has either annual_amount or total_contract_value, not both")
        return self

    def to_model(self) -> model.OrderLine:
        return model.OrderLine(
            line_id=self.line_id,
            product=self.product,
            kind=self.kind,
            tax_rate=self.tax_rate,
            annual_amount=self.annual_amount,
            total_contract_value=self.total_contract_value,
            term_months=self.term_months,
        )


class OrderBooked(_Model):
    order_id: OneLine
    account_id: OneLine
    subscription_id: OneLine
    billing_contact: ContactIn
    po_number: OneLine | None
    payment_method: Literal["invoice", "credit_card", "paypal", "direct_debit"]
    currency: Currency
    billing_frequency: Literal[
        "annual_in_advance", "quarterly_in_advance", "quarterly_in_arrears", "monthly_in_arrears"
    ]
    term: TermIn
    lines: list[OrderLineIn] = Field(min_length=1)

    @field_validator("lines")
    @classmethod
    def _unique_line_ids(cls, lines: list[OrderLineIn]) -> list[OrderLineIn]:
        seen = set()
        for line in lines:
            if line.line_id in seen:
                raise ValueError(f"line_id {line.line_id!r} appears twice")
            seen.add(line.line_id)
        return lines

    def to_model(self) -> model.Order:
        return model.Order(
            order_id=self.order_id,
            account_id=self.account_id,
            subscription_id=self.subscription_id,
            billing_contact=self.billing_contact.to_model(),
            po_number=self.po_number,
            payment_method=self.payment_method,
            currency=self.currency,
            billing_frequency=self.billing_frequency,
            term_start=self.term.start,
            term_end=self.term.end,
            lines=tuple(line.to_model() for line in self.lines),
        )


class ServiceActivated(_Model):
    order_id: OneLine
    line_id: OneLine
    activated_at: Timestamp


class PaymentCardFailed(_Model):
    invoice_number: OneLine
    account_id: OneLine
    amount: Amount = Field(ge=0)
    currency: Currency
    failed_at: Timestamp
    reason: str | None = None
    billing_contact: ContactIn | None = None


class UsageIn(_Model):
    service: OneLine
    category: Literal["oci", "third_party", "marketplace", "saas"]
    net_amount: Amount


class RewardsAccrued(_Model):
    account_id: OneLine
    month: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    usage: list[UsageIn]
    currency: Currency
    redemption_code: Annotated[str, Field(min_length=1, repr=False)]
    billing_contact: ContactIn


class RewardsRedeemed(_Model):
    account_id: OneLine
    invoice_number: OneLine
    invoice_amount_excl_tax: Amount = Field(ge=0)
    invoice_tax: Amount = Field(ge=0)
    currency: Currency
    amount: Amount = Field(gt=0)
    redeemed_at: Timestamp
    billing_contact: ContactIn


#: The event types of the contract and the model of each one's `data`.
DATA_MODELS: dict[str, type[_Model]] = {
    "account.updated": AccountUpdated,
    "order.booked": OrderBooked,
    "service.activated": ServiceActivated,
    "payment.card_failed": PaymentCardFailed,
    "rewards.accrued": RewardsAccrued,
    "rewards.redeemed": RewardsRedeemed,
}


class Envelope(_Model):
    id: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]
    type: str
    occurred_at: Timestamp
    data: dict[str, Any]


class Event(BaseModel):
    """A validated event: the envelope with its typed `data`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id: str
    type: str
    occurred_at: datetime
    data: Any
    #: The event as it arrived, for storage and dead letters.
    raw: dict[str, Any]


#: Fields whose values are secrets: never stored, logged or dead-lettered as they came.
SECRET_FIELDS = frozenset({"redemption_code"})


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(event)"


def _first_error(exc: ValidationError, prefix: str) -> tuple[str, str]:
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = tuple(part for part in err["loc"] if not (isinstance(part, str) and part.startswith("function-")))
    path = _field_path(loc)
    message = err["msg"].removeprefix("Value error, ")
    return (f"{prefix}.{path}" if prefix else path), message


def parse_event(raw: Any) -> Event:
    """Validate one decoded JSON event.

    Raises:
      InvalidEvent: naming the event id (or "?") and the first field that breaks the contract.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(None, "(event)", "an event is a JSON object")
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_error(exc, "")
        raise InvalidEvent(event_id, field, message) from None
    data_model = DATA_MODELS.get(envelope.type)
    if data_model is None:
        raise InvalidEvent(envelope.id, "type", f"unknown event type {envelope.type!r}")
    try:
        data = data_model.model_validate(envelope.data)
    except ValidationError as exc:
        field, message = _first_error(exc, "data")
        raise InvalidEvent(envelope.id, field, message) from None
    return Event(id=envelope.id, type=envelope.type, occurred_at=envelope.occurred_at, data=data, raw=raw)


def parse_event_json(line: str) -> Event:
    """Decode and validate one JSON Lines entry.

    Raises:
      InvalidEvent: for bad JSON, naming the field "(json)".
    """
    try:
        raw = json.loads(line, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(None, "(json)", f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    return parse_event(raw)


def redact(raw: Any) -> Any:
    """A copy of an event with secret fields replaced and card numbers taken out of every text,
    safe for logs and dead letters."""
    if isinstance(raw, dict):
        return {k: ("[redacted]" if k in SECRET_FIELDS else redact(v)) for k, v in raw.items()}
    if isinstance(raw, list):
        return [redact(v) for v in raw]
    if isinstance(raw, str):
        return redact_card_numbers(raw)
    return raw


def json_schema() -> dict[str, Any]:
    """The contract as one JSON Schema document (draft 2020-12), for producers."""
    variants = []
    defs: dict[str, Any] = {}
    for type_name, data_model in DATA_MODELS.items():
        schema = TypeAdapter(data_model).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[data_model.__name__] = schema
        variants.append(
            {
                "properties": {
                    "type": {"const": type_name},
                    "data": {"$ref": f"#/$defs/{data_model.__name__}"},
                },
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://invoice-worker.example/schema/events.schema.json",
        "title": "invoice-worker event",
        "description": "One event of shared/CONTRACT.md. Amounts are JSON strings holding decimals.",
        "type": "object",
        "required": ["id", "type", "occurred_at", "data"],
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 200},
            "type": {"enum": list(DATA_MODELS)},
            "occurred_at": {"type": "string", "format": "date-time"},
            "data": {"type": "object"},
        },
        "oneOf": variants,
        "$defs": defs,
    }
