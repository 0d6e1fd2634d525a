"""The schema is the contract: every contract-breaking event of the corpus below is refused by
the published schema (a third-party validator, `jsonschema`, with format checking) and by the
worker, both naming the same field; every valid event passes both.

Each case is written as the JSON line a producer sends, decoded as `json.loads` decodes it (for
the schema) and as the worker may decode it (plain, and with `parse_float=Decimal`).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from tests.support.contract_events import (
    account_updated,
    card_failed,
    contact,
    contract_example,
    line,
    order_booked,
    rewards_accrued,
    rewards_redeemed,
    service_activated,
)
from tests.support.paths import ROOT
from worker.contract import limits
from worker.contract.events import DATA_MODELS, parse_event, parse_event_json
from worker.errors import InvalidEvent

SCHEMA = json.loads((ROOT / "schema" / "events.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """An edit that puts `value` at a dotted path of the event (list indexes as numbers)."""

    def edit(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = event
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


def _line_json(base: dict[str, Any], *edits: Edit, raw: str | None = None) -> str:
    event = copy.deepcopy(base)
    for edit in edits:
        edit(event)
    text = json.dumps(event, ensure_ascii=False)
    return text if raw is None else text.replace('"@RAW@"', raw)


ORDER = order_booked(event_id="c-order")
ACCOUNT = account_updated(event_id="c-account")
ACTIVATION = service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="c-activation")
REDEMPTION = rewards_redeemed("600.00", event_id="c-redemption")
ACCRUAL = rewards_accrued(event_id="c-accrual")
CARD = card_failed(event_id="c-card", reason="Declined by issuer")
#: An account with every optional field of the invoice document, each valid.
DOCUMENT_ACCOUNT = account_updated(
    event_id="c-account-document",
    legal_name="Acme Nederland B.V.",
    address={"lines": ["Damrak 1", "3e verdieping"], "city": "Amsterdam", "postal_code": "1012 LG", "country": "NL"},
    vat_id="NL004495445B01",
    buyer_reference="INK-2026-0042",
    peppol_id="9944:NL004495445B01",
    einvoice="ubl",
)
CONTRACT_VALUE_LINE = {"line_id": "L1", "product": "Compute", "kind": "paas", "total_contract_value": "120000.00",
                       "term_months": 36, "tax_rate": "0.21"}  # fmt: skip

#: (case, the JSON line, the field both must name).
BREAKING: list[tuple[str, str, str]] = [
    ("currency in lower case", _line_json(ORDER, _set("data.currency", "usd")), "data.currency"),
    ("currency not ISO 4217", _line_json(ORDER, _set("data.currency", "XYZ1")), "data.currency"),
    ("country alpha-3", _line_json(ACCOUNT, _set("data.country", "NLD")), "data.country"),
    ("country user-assigned", _line_json(ACCOUNT, _set("data.country", "ZZ")), "data.country"),
    ("country in lower case", _line_json(ACCOUNT, _set("data.country", "nl")), "data.country"),
    ("country reserved, not assigned", _line_json(ACCOUNT, _set("data.country", "EU")), "data.country"),
    (
        "amount not a decimal",
        _line_json(ORDER, _set("data.lines.0.annual_amount", "abc")),
        "data.lines.0.annual_amount",
    ),
    (
        "amount as a JSON number",
        _line_json(ORDER, _set("data.lines.0.annual_amount", "@RAW@"), raw="24000.00"),
        "data.lines.0.annual_amount",
    ),
    (
        "amount as a JSON integer",
        _line_json(CARD, _set("data.amount", "@RAW@"), raw="1815"),
        "data.amount",
    ),
    ("tax rate as a percentage", _line_json(ORDER, _set("data.lines.0.tax_rate", "21%")), "data.lines.0.tax_rate"),
    ("tax rate above 1", _line_json(ORDER, _set("data.lines.0.tax_rate", "1.5")), "data.lines.0.tax_rate"),
    (
        "tax rate of unbounded scale",
        _line_json(ORDER, _set("data.lines.0.tax_rate", "0.2100001")),
        "data.lines.0.tax_rate",
    ),
    (
        "a line with both pricing models",
        _line_json(ORDER, _set("data.lines.0", {**CONTRACT_VALUE_LINE, "annual_amount": "24000.00"})),
        "data.lines.0",
    ),
    (
        "a line with neither pricing model",
        _line_json(ORDER, _set("data.lines.0", {"line_id": "L1", "product": "P", "kind": "paas", "tax_rate": "0.21"})),
        "data.lines.0",
    ),
    (
        "a contract value without its term",
        _line_json(ORDER, _set("data.lines.0", {k: v for k, v in CONTRACT_VALUE_LINE.items() if k != "term_months"})),
        "data.lines.0",
    ),
    (
        "term_months as a string",
        _line_json(ORDER, _set("data.lines.0", {**CONTRACT_VALUE_LINE, "term_months": "36"})),
        "data.lines.0.term_months",
    ),
    (
        "a negative amount",
        _line_json(ORDER, _set("data.lines.0.annual_amount", "-100.00")),
        "data.lines.0.annual_amount",
    ),
    ("a redemption of 0", _line_json(REDEMPTION, _set("data.amount", "0")), "data.amount"),
    ("a redemption of 0.00", _line_json(REDEMPTION, _set("data.amount", "0.00")), "data.amount"),
    ('"false" as a boolean', _line_json(ACCOUNT, _set("data.ula", "false")), "data.ula"),
    ("0 as a boolean", _line_json(ACCOUNT, _set("data.pay_as_you_go", 0)), "data.pay_as_you_go"),
    ("a Unix-number timestamp", _line_json(ACTIVATION, _set("occurred_at", 1767258000)), "occurred_at"),
    ("a Unix-number activation", _line_json(ACTIVATION, _set("data.activated_at", 1767258000)), "data.activated_at"),
    (
        "a timestamp without a zone",
        _line_json(ACTIVATION, _set("data.activated_at", "2026-01-01T09:00:00")),
        "data.activated_at",
    ),
    ("a timestamp that is a date", _line_json(CARD, _set("data.failed_at", "2026-02-16")), "data.failed_at"),
    ("a date that does not exist", _line_json(ORDER, _set("data.term.end", "2026-02-30")), "data.term.end"),
    ("a date as a number", _line_json(ORDER, _set("data.term.start", 20260101)), "data.term.start"),
    ("a year out of range", _line_json(ORDER, _set("data.term.end", "20260-12-31")), "data.term.end"),
    ('"0.001" USD', _line_json(ORDER, _set("data.lines.0.annual_amount", "0.001")), "data.lines.0.annual_amount"),
    (
        "a JPY amount with decimals",
        _line_json(CARD, _set("data.currency", "JPY"), _set("data.amount", "1815.50")),
        "data.amount",
    ),
    (
        "usage of more decimals than USD",
        _line_json(ACCRUAL, _set("data.usage.0.net_amount", "4000.005")),
        "data.usage.0.net_amount",
    ),
    ('"1e30"', _line_json(ORDER, _set("data.lines.0.annual_amount", "1e30")), "data.lines.0.annual_amount"),
    (
        "16 integer digits",
        _line_json(ORDER, _set("data.lines.0.annual_amount", "1" * 16)),
        "data.lines.0.annual_amount",
    ),
    (
        "Arabic-Indic digits",
        _line_json(ORDER, _set("data.lines.0.annual_amount", "\u0662\u0664\u0660\u0660\u0660")),
        "data.lines.0.annual_amount",
    ),
    ("a NUL in a name", _line_json(ACCOUNT, _set("data.name", "Acme\x00 B.V.")), "data.name"),
    (
        "a NUL in a contact's name",
        _line_json(ORDER, _set("data.billing_contact.name", "Els\x00")),
        "data.billing_contact.name",
    ),
    (
        "U+202E in a name",
        _line_json(ACCOUNT, _set("data.contacts.dunning.name", "Debiteuren\u202efdp.exe")),
        "data.contacts.dunning.name",
    ),
    ("U+2066 in a product", _line_json(ORDER, _set("data.lines.0.product", "Compute\u2066")), "data.lines.0.product"),
    ("a C1 control in a PO number", _line_json(ORDER, _set("data.po_number", "PO\x8577")), "data.po_number"),
    ("DEL in a line id", _line_json(ORDER, _set("data.lines.0.line_id", "L\x7f1")), "data.lines.0.line_id"),
    ("a line feed in a reason", _line_json(CARD, _set("data.reason", "Declined\nX-Forged: 1")), "data.reason"),
    ("a trailing line feed in an amount", _line_json(CARD, _set("data.amount", "1815.00\n")), "data.amount"),
    ("CR LF in an event id", _line_json(ACTIVATION, _set("id", "e1\r\nINFO forged")), "id"),
    ("a blank name", _line_json(ACCOUNT, _set("data.name", "   ")), "data.name"),
    (
        "an over-long product name",
        _line_json(ORDER, _set("data.lines.0.product", "P" * (limits.MAX_PRODUCT_LENGTH + 1))),
        "data.lines.0.product",
    ),
    (
        "an over-long PO number",
        _line_json(ORDER, _set("data.po_number", "7" * (limits.MAX_PO_NUMBER_LENGTH + 1))),
        "data.po_number",
    ),
    (
        "an over-long account id",
        _line_json(ACCOUNT, _set("data.account_id", "A" * (limits.MAX_ID_LENGTH + 1))),
        "data.account_id",
    ),
    ("an over-long reason", _line_json(CARD, _set("data.reason", "r" * (limits.MAX_REASON_LENGTH + 1))), "data.reason"),
    (
        "too many lines",
        _line_json(ORDER, _set("data.lines", [line(f"L{n}", "Compute") for n in range(limits.MAX_ORDER_LINES + 1)])),
        "data.lines",
    ),
    (
        "too many usage entries",
        _line_json(
            ACCRUAL,
            _set(
                "data.usage",
                [{"service": "S", "category": "oci", "net_amount": "1.00"}] * (limits.MAX_USAGE_ENTRIES + 1),
            ),
        ),
        "data.usage",
    ),
    ("no lines", _line_json(ORDER, _set("data.lines", [])), "data.lines"),
    (
        "an email of 65 octets before the @",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "e" * 65 + "@acme.example"))),
        "data.billing_contact.email",
    ),
    (
        "an email over 254 characters",
        _line_json(
            ORDER,
            _set(
                "data.billing_contact",
                contact("Els", "els@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".example"),
            ),
        ),
        "data.billing_contact.email",
    ),
    (
        "an email with a display name",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "Els <els@acme.example>"))),
        "data.billing_contact.email",
    ),
    (
        "an email in angle brackets",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "<els@acme.example>"))),
        "data.billing_contact.email",
    ),
    (
        "a locale that is not a tag",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "els@acme.example", "nl NL"))),
        "data.billing_contact.locale",
    ),
    ("a month 13", _line_json(ACCRUAL, _set("data.month", "2026-13")), "data.month"),
    ("an unknown sector", _line_json(ACCOUNT, _set("data.sector", "charity")), "data.sector"),
    ("an unknown line kind", _line_json(ORDER, _set("data.lines.0.kind", "hardware")), "data.lines.0.kind"),
    ("a missing activation time", _line_json(ACTIVATION, _delete("data.activated_at")), "data.activated_at"),
    ("a missing event id", _line_json(ACTIVATION, _delete("id")), "id"),
    ("an unknown event type", _line_json(ACTIVATION, _set("type", "service.exploded")), "type"),
    ("a type with spaces around it", _line_json(ACTIVATION, _set("type", " service.activated")), "type"),
    ("data not an object", _line_json(ACTIVATION, _set("data", [])), "data"),
    # The invoice document's optional fields of account.updated
    ("a VAT id in lower case", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "nl004495445b01")), "data.vat_id"),
    ("a VAT id with spaces", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "NL 0044.95.445.B01")), "data.vat_id"),
    ("a VAT id without a country", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "004495445B01")), "data.vat_id"),
    ("a VAT id of no country", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "ZZ004495445B01")), "data.vat_id"),
    ("a VAT id as a number", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", 4495445)), "data.vat_id"),
    (
        "an over-long VAT id",
        _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "NL" + "0" * (limits.MAX_VAT_ID_LENGTH - 1))),
        "data.vat_id",
    ),
    (
        "a trailing line feed in a VAT id",
        _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "NL004495445B01\n")),
        "data.vat_id",
    ),
    ("an unknown e-invoice format", _line_json(DOCUMENT_ACCOUNT, _set("data.einvoice", "pdf")), "data.einvoice"),
    ("an e-invoice format in capitals", _line_json(DOCUMENT_ACCOUNT, _set("data.einvoice", "UBL")), "data.einvoice"),
    ("an e-invoice format of null", _line_json(DOCUMENT_ACCOUNT, _set("data.einvoice", None)), "data.einvoice"),
    (
        "four address lines",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.lines", ["Damrak 1", "3e verdieping", "Kamer 12", "Bus 4"])),
        "data.address.lines",
    ),
    ("no address lines", _line_json(DOCUMENT_ACCOUNT, _set("data.address.lines", [])), "data.address.lines"),
    (
        "address lines as a string",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.lines", "Damrak 1")),
        "data.address.lines",
    ),
    (
        "an address country alpha-3",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.country", "NLD")),
        "data.address.country",
    ),
    (
        "an address without a country",
        _line_json(DOCUMENT_ACCOUNT, _delete("data.address.country")),
        "data.address.country",
    ),
    ("an address without a city", _line_json(DOCUMENT_ACCOUNT, _delete("data.address.city")), "data.address.city"),
    ("a blank city", _line_json(DOCUMENT_ACCOUNT, _set("data.address.city", " ")), "data.address.city"),
    (
        "a line feed in an address line",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.lines.1", "Damrak 1\nBcc: x@evil.example")),
        "data.address.lines.1",
    ),
    (
        "an over-long address line",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.lines.0", "D" * (limits.MAX_ADDRESS_LINE_LENGTH + 1))),
        "data.address.lines.0",
    ),
    (
        "an over-long postal code",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.postal_code", "1" * (limits.MAX_POSTAL_CODE_LENGTH + 1))),
        "data.address.postal_code",
    ),
    (
        "U+202E in a region",
        _line_json(DOCUMENT_ACCOUNT, _set("data.address.region", "Noord\u202e")),
        "data.address.region",
    ),
    ("a NUL in a legal name", _line_json(DOCUMENT_ACCOUNT, _set("data.legal_name", "Acme\x00")), "data.legal_name"),
    (
        "an over-long legal name",
        _line_json(DOCUMENT_ACCOUNT, _set("data.legal_name", "A" * (limits.MAX_NAME_LENGTH + 1))),
        "data.legal_name",
    ),
    (
        "an over-long buyer reference",
        _line_json(DOCUMENT_ACCOUNT, _set("data.buyer_reference", "9" * (limits.MAX_BUYER_REFERENCE_LENGTH + 1))),
        "data.buyer_reference",
    ),
    ("a blank buyer reference", _line_json(DOCUMENT_ACCOUNT, _set("data.buyer_reference", "")), "data.buyer_reference"),
    (
        "a Peppol id without a scheme",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0123456789")),
        "data.peppol_id",
    ),
    (
        "a Peppol id of a 3-digit scheme",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "208:0123456789")),
        "data.peppol_id",
    ),
    (
        "a Peppol id of a named scheme",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "BE:0123456789")),
        "data.peppol_id",
    ),
    ("a Peppol id without an id", _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0208:")), "data.peppol_id"),
    (
        "a Peppol id with a space",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0208:0123 456 789")),
        "data.peppol_id",
    ),
    (
        "a Peppol id of an over-long id",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0088:" + "1" * (limits.MAX_PEPPOL_ID_LENGTH + 1))),
        "data.peppol_id",
    ),
]

#: Where the schema tells producers that the worker checks a VAT id's check digits.
VAT_ID_DESCRIPTION = ("$defs", "AccountUpdated", "properties", "vat_id", "anyOf", 0, "description")

#: Rules JSON Schema cannot say: it compares no two values, and counts characters, not UTF-8
#: octets. The worker refuses these, the schema passes them, and it says so where the producer
#: reads about the field: (case, line, field, where in the schema, what it says).
WORKER_ONLY: list[tuple[str, str, str, tuple[str, ...], str]] = [
    (
        "a reversed term",
        _line_json(ORDER, _set("data.term", {"start": "2026-12-31", "end": "2026-01-01"})),
        "data.term",
        ("$defs", "TermIn", "description"),
        "the worker checks it",
    ),
    (
        "a line id twice",
        _line_json(ORDER, _set("data.lines", [line("L1", "A"), line("L1", "B")])),
        "data.lines",
        ("$defs", "OrderBooked", "description"),
        "the worker checks it",
    ),
    (
        "an internationalized email of 66 octets before the @",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "\u00e9" * 33 + "@acme.example"))),
        "data.billing_contact.email",
        ("$defs", "ContactIn", "properties", "email", "description"),
        "which the worker counts",
    ),
    (
        "a VAT id failing its check digits (the CONTRACT's example)",
        _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "NL123456789B01")),
        "data.vat_id",
        VAT_ID_DESCRIPTION,
        "the worker checks",
    ),
    (
        "a UK VAT id failing its check digits",
        _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "GB980780685")),
        "data.vat_id",
        VAT_ID_DESCRIPTION,
        "the country's own module",
    ),
    (
        "a Belgian VAT id without its leading zero",
        _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", "BE403019261")),
        "data.vat_id",
        VAT_ID_DESCRIPTION,
        "the worker checks",
    ),
]

#: Valid events at the edges of the rules.
VALID_EDGES: list[tuple[str, str]] = [
    ("a contract-value line", _line_json(ORDER, _set("data.lines.0", CONTRACT_VALUE_LINE))),
    (
        "term_months as 36.0",
        _line_json(ORDER, _set("data.lines.0", {**CONTRACT_VALUE_LINE, "term_months": "@RAW@"}), raw="36.0"),
    ),
    ("a JPY amount", _line_json(CARD, _set("data.currency", "JPY"), _set("data.amount", "181500"))),
    (
        "a JPY amount with zero decimals",
        _line_json(CARD, _set("data.currency", "JPY"), _set("data.amount", "181500.00")),
    ),
    ("a USD amount with four decimals, zeros", _line_json(ORDER, _set("data.lines.0.annual_amount", "24000.1000"))),
    ("a KWD amount of three decimals", _line_json(CARD, _set("data.currency", "KWD"), _set("data.amount", "18.125"))),
    ("a USD amount without decimals", _line_json(ORDER, _set("data.lines.0.annual_amount", "24000"))),
    ("the largest amount", _line_json(ORDER, _set("data.lines.0.annual_amount", "9" * 15 + ".99"))),
    ("a tax rate of 1", _line_json(ORDER, _set("data.lines.0.tax_rate", "1.00"))),
    ("a tax rate of six decimals", _line_json(ORDER, _set("data.lines.0.tax_rate", "0.099750"))),
    ("a negative net usage", _line_json(ACCRUAL, _set("data.usage.0.net_amount", "-10.00"))),
    ("a redemption of a cent", _line_json(REDEMPTION, _set("data.amount", "0.01"))),
    (
        "a timestamp with an offset and fraction",
        _line_json(ACTIVATION, _set("data.activated_at", "2026-01-01T10:00:00.123456789+01:00")),
    ),
    ("a timestamp in lower case", _line_json(ACTIVATION, _set("data.activated_at", "2026-01-01t09:00:00z"))),
    ("February 29 of a leap year", _line_json(ORDER, _set("data.term.end", "2028-02-29"))),
    ("no PO number", _line_json(ORDER, _set("data.po_number", None))),
    (
        "a name in Arabic with a right-to-left mark",
        _line_json(ACCOUNT, _set("data.name", "\u0634\u0631\u0643\u0629 \u200f\u0623\u0643\u0645\u064a")),
    ),
    (
        "an email of 64 octets before the @",
        _line_json(ORDER, _set("data.billing_contact", contact("Els", "e" * 64 + "@acme.example"))),
    ),
    ("the longest product name", _line_json(ORDER, _set("data.lines.0.product", "P" * limits.MAX_PRODUCT_LENGTH))),
    (
        "the most lines",
        _line_json(ORDER, _set("data.lines", [line(f"L{n}", "Compute") for n in range(limits.MAX_ORDER_LINES)])),
    ),
    (
        "an internationalized email",
        _line_json(ORDER, _set("data.billing_contact", contact("J\u00fcrgen", "j\u00fcrgen@m\u00fcller.example"))),
    ),
    ("an unknown optional field", _line_json(ACTIVATION, _set("data.region", "eu-amsterdam-1"))),
    ("an account with every field of the invoice document", _line_json(DOCUMENT_ACCOUNT)),
    (
        "an address of three lines, a region and no postal code",
        _line_json(
            DOCUMENT_ACCOUNT,
            _set(
                "data.address",
                {
                    "lines": ["Unit 4", "Harbour Road", "Ringsend"],
                    "city": "Dublin",
                    "region": "Leinster",
                    "country": "IE",
                },
            ),
        ),
    ),  # fmt: skip
    (
        "the optional fields as null",
        _line_json(
            DOCUMENT_ACCOUNT,
            *(
                _set(f"data.{name}", None)
                for name in ("legal_name", "address", "vat_id", "buyer_reference", "peppol_id")
            ),
        ),
    ),  # fmt: skip
    *(
        (f"a VAT id of {country}", _line_json(DOCUMENT_ACCOUNT, _set("data.vat_id", vat_id)))
        for country, vat_id in [
            ("Germany", "DE136695976"),
            ("Belgium", "BE0403019261"),
            ("France", "FR61954506077"),
            ("Austria", "ATU13585627"),
            ("Greece, as EL", "EL094259216"),
            ("Northern Ireland, as XI", "XI980780684"),
            ("Ireland, old style", "IE8D79739I"),
            ("the United Kingdom", "GB980780684"),
            ("Switzerland", "CHE107787577MWST"),
            ("Norway", "NO995525828MVA"),
            ("Australia, an ABN", "AU51824753556"),
            ("the United States, shape alone", "US123456789"),
        ]
    ),
    (
        "a Leitweg-ID as buyer reference",
        _line_json(DOCUMENT_ACCOUNT, _set("data.buyer_reference", "04011000-12345-34")),
    ),
    ("a Peppol GLN", _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0088:5790000435975"))),
    ("a Peppol Belgian enterprise number", _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0208:0403019261"))),
    (
        "the longest Peppol id",
        _line_json(DOCUMENT_ACCOUNT, _set("data.peppol_id", "0088:" + "1" * limits.MAX_PEPPOL_ID_LENGTH)),
    ),
    *(
        (f"e-invoice {choice}", _line_json(DOCUMENT_ACCOUNT, _set("data.einvoice", choice)))
        for choice in ("auto", "facturx", "ubl", "xrechnung", "none")
    ),  # fmt: skip
]


def schema_field(event: Any) -> str | None:
    """The field the schema's most relevant error is about, in the worker's notation
    (`data.lines.0.annual_amount`); None when the schema accepts the event."""
    error = best_match(VALIDATOR.iter_errors(event))
    if error is None:
        return None
    return _dotted(error)


def _dotted(error: ValidationError) -> str:
    parts = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        # A missing property: the worker names the property, the schema the object holding it.
        parts.append(next(name for name in error.validator_value if name not in error.instance))
    return ".".join(parts)


def worker_fields(text: str) -> set[str]:
    """The field the worker names, for each way ingest may decode the line."""
    fields = set()
    for decode in (lambda: parse_event(json.loads(text)), lambda: parse_event_json(text)):
        with pytest.raises(InvalidEvent) as refused:
            decode()
        fields.add(refused.value.field)
    return fields


@pytest.mark.parametrize(("case", "text", "field"), BREAKING, ids=[case for case, _, _ in BREAKING])
def test_a_contract_breaking_event_is_refused_by_schema_and_worker_naming_the_same_field(case, text, field):
    # Given a producer's line that breaks the contract in one field
    event = json.loads(text)
    # When the schema and the worker validate it, Then both refuse it, naming that field
    assert schema_field(event) == field
    assert worker_fields(text) == {field}


@pytest.mark.parametrize(("case", "text", "field", "where", "says"), WORKER_ONLY, ids=[c for c, *_ in WORKER_ONLY])
def test_a_rule_json_schema_cannot_say_is_enforced_by_the_worker_and_told_in_the_schema(case, text, field, where, says):
    # Given an event that breaks a rule JSON Schema cannot state
    # When the worker validates it, Then it refuses it, naming the field
    assert worker_fields(text) == {field}
    # And the schema, which lets it pass, tells producers of the rule where they read about it
    assert schema_field(json.loads(text)) is None
    node: Any = SCHEMA
    for key in where:
        node = node[key]
    assert says in node


def contract_jsonl() -> list[str]:
    text = CONTRACT.read_text(encoding="utf-8") if CONTRACT.exists() else ""
    block = re.search(r"```jsonl\n(.*?)```", text, re.S)
    return block.group(1).strip().splitlines() if block else [json.dumps(e) for e in contract_example()]


def fixture_lines() -> list[str]:
    return [
        text
        for path in sorted((ROOT / "fixtures").glob("*.jsonl"))
        for text in path.read_text(encoding="utf-8").splitlines()
        if text.strip()
    ]


def _fixture_cases() -> list[tuple[str, str]]:
    cases = [(f"contract {json.loads(t)['id']}", t) for t in contract_jsonl()]
    cases += [(f"fixture {json.loads(t)['id']}", t) for t in fixture_lines()]
    return cases + VALID_EDGES


@pytest.mark.parametrize(("case", "text"), _fixture_cases(), ids=[c for c, _ in _fixture_cases()])
def test_a_fixture_or_contract_event_gets_the_same_verdict_from_schema_and_worker(case, text):
    # Given an event of the fixtures, the contract's examples or the valid edges of the rules
    event = json.loads(text)
    # When the schema and the worker validate it
    verdict = schema_field(event)
    try:
        parse_event(json.loads(text))
        parse_event_json(text)
    except InvalidEvent as exc:
        # Then a bad one (the fixtures hold one on purpose) is refused by both on the same field
        assert verdict == exc.field, f"{case}: the worker refused {exc}"
    else:
        # And a good one passes both
        assert verdict is None, f"{case}: the schema refused {verdict}"


def test_the_fixtures_hold_good_events_and_the_one_bad_one_the_demo_shows():
    # Given the demo's fixtures: all valid but e9 (an activation without its time, on purpose)
    refused = set()
    for text in fixture_lines():
        try:
            parse_event_json(text)
        except InvalidEvent as exc:
            refused.add((exc.event_id, exc.field))
    assert refused == {("e9", "data.activated_at")}


def test_amounts_reach_the_worker_as_decimals_of_the_string_sent():
    event = parse_event_json(_line_json(ORDER, _set("data.lines.0.annual_amount", "24000.10")))
    assert event.data.lines[0].annual_amount == Decimal("24000.10")
    assert str(event.data.lines[0].annual_amount) == "24000.10"


def test_the_schema_is_valid_draft_2020_12_with_a_definition_of_every_model():
    Draft202012Validator.check_schema(SCHEMA)
    models = {
        "AccountContactsIn",
        "AddressIn",
        "ContactIn",
        "OrderLineIn",
        "TermIn",
        "UsageIn",
        *(m.__name__ for m in DATA_MODELS.values()),
    }
    assert models <= set(SCHEMA["$defs"])
    # One `if`/`then` per event type: the discriminator
    assert [rule["if"]["properties"]["type"]["const"] for rule in SCHEMA["allOf"]] == list(DATA_MODELS)
