"""The event contract (shared/CONTRACT.md) as typed models, and its validation.

`parse_event` turns one decoded JSON object into a typed event or raises `InvalidEvent` naming the
event id and the first offending field. Nothing is coerced: each field's type is a value type of
`worker/contract/values.py` (an amount is a decimal string, never a JSON number), bounded by
`worker/contract/limits.py`. `worker/contract/schema.py` generates the JSON Schema from the same
models (`schema/events.schema.json`); the rules JSON Schema cannot state (a term's order,
distinct line ids, a VAT id's check digits) are in the descriptions it carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from worker.contract import limits
from worker.contract.values import (
    COUNTRY,
    CURRENCY,
    MONTH_PATTERN,
    Amount,
    Bool,
    Code,
    Count,
    Day,
    Email,
    OneOf,
    PeppolId,
    TaxRate,
    Text,
    Timestamp,
    VatId,
    quoted,
)
from worker.domain import model
from worker.domain.card_numbers import redact_card_numbers
from worker.domain.money import MINOR_UNITS, minor_unit_exponent
from worker.domain.usage import UsageLine
from worker.errors import InvalidEvent

Id = Annotated[str, Text(limits.MAX_ID_LENGTH)]
Name = Annotated[str, Text(limits.MAX_NAME_LENGTH)]
Product = Annotated[str, Text(limits.MAX_PRODUCT_LENGTH)]
Currency = Annotated[str, CURRENCY]
Country = Annotated[str, COUNTRY]
Moment = Annotated[datetime, Timestamp()]
Money = Annotated[Decimal, Amount()]
Flag = Annotated[bool, Bool()]
Locale = Annotated[str, Code(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$", limits.MAX_LOCALE_LENGTH, "nl-NL")]


#: How a payment was made (`payment.received` `method`).
PAYMENT_METHODS = ("bank_transfer", "credit_card", "paypal", "direct_debit")


class _HasLineId(Protocol):
    @property
    def line_id(self) -> str: ...


_Line = TypeVar("_Line", bound=_HasLineId)


def _distinct_line_ids(lines: list[_Line]) -> list[_Line]:
    """`lines` when no two share a `line_id` (JSON Schema cannot compare two values)."""
    seen = set()
    for line in lines:
        if line.line_id in seen:
            raise ValueError(f"line_id {line.line_id!r} appears twice")
        seen.add(line.line_id)
    return lines


def _at_most(items: Any, limit: int, what: str) -> Any:
    # Before the items are validated: 10,000 lines are refused without validating each.
    if isinstance(items, list) and len(items) > limit:
        raise ValueError(f"at most {limit} {what} ({len(items)})")
    return items


class ContractModel(BaseModel):
    # Producers may add optional fields (the contract allows it): ignore what we do not know.
    model_config = ConfigDict(extra="ignore", frozen=True)

    #: Paths (dots; `*` for every item of a list) of the amounts in this event's `currency`,
    #: held to its minor unit (`currency_amounts`).
    CURRENCY_AMOUNTS: ClassVar[tuple[str, ...]] = ()


class ContactIn(ContractModel):
    name: Name
    email: Annotated[str, Email()]
    locale: Locale | None = None

    def to_model(self) -> model.Contact:
        return model.Contact(name=self.name, email=self.email, locale=self.locale)


class AccountContactsIn(ContractModel):
    dunning: ContactIn | None = None
    account_relationship: ContactIn | None = None


AddressText = Annotated[str, Text(limits.MAX_ADDRESS_LINE_LENGTH)]


class AddressIn(ContractModel):
    """A postal address: one to three `lines` before the city, the `city`, and the `country`."""

    lines: list[AddressText] = Field(min_length=1, max_length=limits.MAX_ADDRESS_LINES)
    city: AddressText
    postal_code: Annotated[str, Text(limits.MAX_POSTAL_CODE_LENGTH)] | None = None
    region: AddressText | None = None
    country: Country

    @field_validator("lines", mode="before")
    @classmethod
    def _not_too_many_lines(cls, lines: Any) -> Any:
        if lines == []:
            raise ValueError("an address has at least one line before the city")
        return _at_most(lines, limits.MAX_ADDRESS_LINES, "address lines")

    def to_model(self) -> model.Address:
        return model.Address(
            lines=tuple(self.lines),
            city=self.city,
            country=self.country,
            postal_code=self.postal_code,
            region=self.region,
        )


class AccountUpdated(ContractModel):
    """An account. The fields after `contacts` are for the invoice document and optional: an
    account without them gets a PDF naming it by `name`, and its country's e-invoice if that
    needs none of them (README "E-invoices")."""

    account_id: Id
    name: Name
    country: Country
    sector: Literal["commercial", "public", "us_government"]
    ula: Flag
    pay_as_you_go: Flag
    contacts: AccountContactsIn = AccountContactsIn()
    legal_name: Name | None = None
    address: AddressIn | None = None
    vat_id: Annotated[str, VatId()] | None = None
    buyer_reference: Annotated[str, Text(limits.MAX_BUYER_REFERENCE_LENGTH)] | None = None
    peppol_id: Annotated[str, PeppolId()] | None = None
    einvoice: Literal["auto", "facturx", "ubl", "xrechnung", "none"] = "auto"

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
            legal_name=self.legal_name or self.name,
            address=self.address.to_model() if self.address else None,
            vat_id=self.vat_id,
            buyer_reference=self.buyer_reference,
            peppol_id=self.peppol_id,
            einvoice=self.einvoice,
        )


class TermIn(ContractModel):
    """The term of an order. `end` is on or after `start`: the worker checks it (JSON Schema
    cannot compare two values)."""

    start: Annotated[date, Day()]
    end: Annotated[date, Day()]

    @model_validator(mode="after")
    def _ordered(self) -> TermIn:
        if self.end < self.start:
            raise ValueError("term.end is before term.start")
        return self


_ANNUAL_PRICING = ("annual_amount",)
_CONTRACT_VALUE_PRICING = ("total_contract_value", "term_months")


class OrderLineIn(ContractModel):
    """One line of an order, priced one way: `annual_amount`, or `total_contract_value` with
    `term_months` (a non-standard term), never both."""

    model_config = ConfigDict(
        json_schema_extra={
            # The two shapes differ only in which fields are present; the values are checked by
            # `properties` above, so that a validator names the field at fault.
            "oneOf": [
                {
                    "title": "annual pricing",
                    "required": list(_ANNUAL_PRICING),
                    "not": {"anyOf": [{"required": [name]} for name in _CONTRACT_VALUE_PRICING]},
                },
                {
                    "title": "contract-value pricing",
                    "required": list(_CONTRACT_VALUE_PRICING),
                    "not": {"anyOf": [{"required": [name]} for name in _ANNUAL_PRICING]},
                },
            ]
        }
    )

    line_id: Id
    product: Product
    kind: Literal["iaas", "paas", "saas", "support", "pooled"]
    # Optional, not nullable: which pricing a line has is which of these it holds.
    annual_amount: Annotated[Decimal | None, Amount()] = None
    total_contract_value: Annotated[Decimal | None, Amount()] = None
    term_months: Annotated[int | None, Count(1, limits.MAX_TERM_MONTHS)] = None
    tax_rate: Annotated[Decimal, TaxRate()]

    @model_validator(mode="before")
    @classmethod
    def _one_pricing(cls, raw: Any) -> Any:
        # On the keys as they came, as the schema's `required` sees them.
        if not isinstance(raw, dict):
            return raw
        annual = all(name in raw for name in _ANNUAL_PRICING)
        contract_value = [name in raw for name in _CONTRACT_VALUE_PRICING]
        if annual and any(contract_value):
            raise ValueError("a line has either annual_amount, or total_contract_value with term_months, not both")
        if not annual and not all(contract_value):
            raise ValueError("a line needs annual_amount, or total_contract_value with term_months")
        return raw

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


class OrderBooked(ContractModel):
    """An order. Its `lines` have distinct `line_id`s: the worker checks it (JSON Schema
    cannot compare two values)."""

    CURRENCY_AMOUNTS = ("lines.*.annual_amount", "lines.*.total_contract_value")

    order_id: Id
    account_id: Id
    subscription_id: Id
    billing_contact: ContactIn
    po_number: Annotated[str, Text(limits.MAX_PO_NUMBER_LENGTH)] | None
    payment_method: Literal["invoice", "credit_card", "paypal", "direct_debit"]
    currency: Currency
    billing_frequency: Literal[
        "annual_in_advance", "quarterly_in_advance", "quarterly_in_arrears", "monthly_in_arrears"
    ]
    term: TermIn
    lines: list[OrderLineIn] = Field(min_length=1, max_length=limits.MAX_ORDER_LINES)

    @field_validator("lines", mode="before")
    @classmethod
    def _not_too_many_lines(cls, lines: Any) -> Any:
        return _at_most(lines, limits.MAX_ORDER_LINES, "lines per order")

    @field_validator("lines")
    @classmethod
    def _unique_line_ids(cls, lines: list[OrderLineIn]) -> list[OrderLineIn]:
        return _distinct_line_ids(lines)

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


class ServiceActivated(ContractModel):
    order_id: Id
    line_id: Id
    activated_at: Moment


class PaymentCardFailed(ContractModel):
    CURRENCY_AMOUNTS = ("amount",)

    invoice_number: Id
    account_id: Id
    amount: Money
    currency: Currency
    failed_at: Moment
    reason: Annotated[str, Text(limits.MAX_REASON_LENGTH)] | None = None
    billing_contact: ContactIn | None = None


class PaymentReceived(ContractModel):
    CURRENCY_AMOUNTS = ("amount",)

    invoice_number: Id
    account_id: Id
    amount: Annotated[Decimal, Amount(sign="positive")]
    currency: Currency
    received_at: Moment
    method: Annotated[str, OneOf(frozenset(PAYMENT_METHODS), "unknown payment method")]


class InvoiceDisputed(ContractModel):
    invoice_number: Id
    account_id: Id
    at: Moment
    state: Annotated[str, OneOf(frozenset({"open", "rejected"}), "unknown dispute state")] = "open"
    reason: Annotated[str, Text(limits.MAX_REASON_LENGTH)] | None = None


class InvoiceCredited(ContractModel):
    invoice_number: Id
    account_id: Id
    credited_at: Moment
    reason: Annotated[str, Text(limits.MAX_REASON_LENGTH)]
    reissue: Flag


Quantity = Annotated[Decimal, Amount(sign="positive", decimals=6, noun="quantity", example="744")]
Unit = Annotated[str, Text(limits.MAX_NAME_LENGTH)]


class UsageLineIn(ContractModel):
    line_id: Id
    product: Product
    kind: Literal["payg", "overage", "bursting"]
    quantity: Quantity
    #: What is counted, e.g. `OCPU-hour`.
    unit: Unit
    unit_price: Annotated[Decimal, Amount(decimals=6, example="0.0255")]
    amount: Money
    tax_rate: Annotated[Decimal, TaxRate()]
    #: The subscribed capacity (a bursting line may use at most twice it, every hour of the month).
    subscribed_quantity: Quantity | None = None

    def to_model(self) -> UsageLine:
        return UsageLine(
            self.line_id,
            self.product,
            self.kind,
            self.quantity,
            self.unit,
            self.unit_price,
            self.amount,
            self.tax_rate,
            self.subscribed_quantity,
        )


class UsageRated(ContractModel):
    CURRENCY_AMOUNTS = ("lines.*.amount",)

    account_id: Id
    subscription_id: Id
    month: Annotated[str, Code(MONTH_PATTERN, 7, "2026-03")]
    currency: Currency
    billing_contact: ContactIn
    lines: list[UsageLineIn] = Field(min_length=1, max_length=limits.MAX_ORDER_LINES)

    @field_validator("lines", mode="before")
    @classmethod
    def _not_too_many_lines(cls, lines: Any) -> Any:
        return _at_most(lines, limits.MAX_ORDER_LINES, "lines per usage event")

    @field_validator("lines")
    @classmethod
    def _unique_line_ids(cls, lines: list[UsageLineIn]) -> list[UsageLineIn]:
        return _distinct_line_ids(lines)


class UsageIn(ContractModel):
    service: Product
    category: Literal["oci", "third_party", "marketplace", "saas"]
    # Net of credits: may be negative.
    net_amount: Annotated[Decimal, Amount(sign="signed")]


class RewardsAccrued(ContractModel):
    CURRENCY_AMOUNTS = ("usage.*.net_amount",)

    account_id: Id
    month: Annotated[str, Code(MONTH_PATTERN, 7, "2026-01")]
    usage: list[UsageIn] = Field(max_length=limits.MAX_USAGE_ENTRIES)
    currency: Currency
    redemption_code: Annotated[str, Text(limits.MAX_REDEMPTION_CODE_LENGTH), Field(repr=False)]
    billing_contact: ContactIn

    @field_validator("usage", mode="before")
    @classmethod
    def _not_too_many_entries(cls, usage: Any) -> Any:
        return _at_most(usage, limits.MAX_USAGE_ENTRIES, "usage entries")


class RewardsRedeemed(ContractModel):
    CURRENCY_AMOUNTS = ("invoice_amount_excl_tax", "invoice_tax", "amount")

    account_id: Id
    invoice_number: Id
    invoice_amount_excl_tax: Money
    invoice_tax: Money
    currency: Currency
    amount: Annotated[Decimal, Amount(sign="positive")]
    redeemed_at: Moment
    billing_contact: ContactIn


#: The event types of the contract and the model of each one's `data`.
DATA_MODELS: dict[str, type[ContractModel]] = {
    "account.updated": AccountUpdated,
    "order.booked": OrderBooked,
    "service.activated": ServiceActivated,
    "payment.card_failed": PaymentCardFailed,
    "rewards.accrued": RewardsAccrued,
    "rewards.redeemed": RewardsRedeemed,
    "payment.received": PaymentReceived,
    "invoice.disputed": InvoiceDisputed,
    "usage.rated": UsageRated,
    "invoice.credited": InvoiceCredited,
}


class Envelope(ContractModel):
    id: Annotated[str, Text(limits.MAX_EVENT_ID_LENGTH)]
    type: Annotated[str, OneOf(frozenset(DATA_MODELS), "unknown event type")]
    occurred_at: Moment
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


def _event_id(raw: dict[str, Any]) -> str | None:
    """The id an error about this event names: as sent when it is a valid id, else escaped
    (an id with a line break must not forge a log line)."""
    value = raw.get("id")
    if not isinstance(value, str):
        return None
    try:
        return _EVENT_ID.validate(value)
    except ValueError:
        return quoted(value)


_EVENT_ID = Text(limits.MAX_EVENT_ID_LENGTH)


def currency_amounts(data: BaseModel) -> Iterator[tuple[str, Decimal]]:
    """The amounts of an event's `data` that are in its `currency`, with their paths
    (`lines.0.annual_amount`), as the model's `CURRENCY_AMOUNTS` names them."""
    for path in getattr(data, "CURRENCY_AMOUNTS", ()):
        yield from _values_at(data, path.split("."), ())


def _values_at(value: Any, parts: list[str], at: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    if value is None:
        return
    if not parts:
        yield ".".join(at), value
    elif parts[0] == "*":
        for index, item in enumerate(value):
            yield from _values_at(item, parts[1:], (*at, str(index)))
    else:
        yield from _values_at(getattr(value, parts[0]), parts[1:], (*at, parts[0]))


def _check_minor_units(event_id: str, data: BaseModel) -> None:
    # "0.001" USD would ask for $0.00: an amount is a whole number of its currency's minor unit.
    # Zeros past it change nothing ("8000.00" JPY is 8000) and are accepted.
    currency = getattr(data, "currency", None)
    if currency is None:
        return
    digits = MINOR_UNITS[currency]
    for path, amount in currency_amounts(data):
        if amount != amount.quantize(minor_unit_exponent(currency)):
            allowed = f"{digits} decimal places" if digits else "no decimal places"
            raise InvalidEvent(
                event_id,
                f"data.{path}",
                f"{currency} amounts have {allowed} (ISO 4217); {amount} is not a whole number of its minor unit",
            )


def parse_event(raw: Any) -> Event:
    """Validate one decoded JSON event.

    Raises:
      InvalidEvent: naming the event id (or "?") and the first field that breaks the contract.
    """
    if not isinstance(raw, dict):
        raise InvalidEvent(None, "(event)", "an event is a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        field, message = _first_error(exc, "")
        raise InvalidEvent(_event_id(raw), field, message) from None
    data_model = DATA_MODELS[envelope.type]
    try:
        data = data_model.model_validate(envelope.data)
    except ValidationError as exc:
        field, message = _first_error(exc, "data")
        raise InvalidEvent(envelope.id, field, message) from None
    _check_minor_units(envelope.id, data)
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
