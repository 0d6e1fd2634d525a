"""The event contract: typed validation, clear errors naming event and field, a published schema."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from tests.support.contract_events import account_updated, contract_example, order_booked, service_activated
from tests.support.paths import ROOT
from worker.contract.events import parse_event, parse_event_json, redact
from worker.contract.schema import json_schema
from worker.errors import InvalidEvent

SCHEMA_FILE = ROOT / "schema" / "events.schema.json"
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"


def contract_jsonl() -> list[str]:
    text = CONTRACT.read_text(encoding="utf-8") if CONTRACT.exists() else ""
    block = re.search(r"```jsonl\n(.*?)```", text, re.S)
    return block.group(1).strip().splitlines() if block else [json.dumps(e) for e in contract_example()]


def test_the_published_schema_file_is_generated_from_the_models():
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(json.dumps(json_schema()))


def test_the_contract_examples_are_valid_for_the_models_and_the_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    for line in contract_jsonl():
        raw = json.loads(line)
        jsonschema.validate(raw, schema)
        assert parse_event(raw).id == raw["id"]


def test_the_schema_rejects_what_the_models_reject():
    schema = json.loads(SCHEMA_FILE.read_text())
    bad = order_booked()
    del bad["data"]["currency"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


@pytest.mark.parametrize(
    ("event", "field", "reason"),
    [
        (
            dict(service_activated("O-1", "L1", "2026-01-01T09:00:00Z", event_id="x1"), type="service.exploded"),
            "type",
            "unknown event type",
        ),
        (
            {**order_booked(event_id="x2"), "data": {**order_booked()["data"], "currency": "XYZ"}},
            "data.currency",
            "unknown ISO 4217",
        ),
        (
            account_updated(event_id="x3", dunning={"name": "D", "email": "nope"}),
            "data.contacts.dunning.email",
            "not a valid email",
        ),
        (
            {**order_booked(event_id="x4"), "data": {k: v for k, v in order_booked()["data"].items() if k != "term"}},
            "data.term",
            "Field required",
        ),
        (service_activated("O-1", "L1", "2026-01-01T09:00:00", event_id="x5"), "occurred_at", "zone"),
        (account_updated(event_id="x6", name="Acme\r\nBcc: victim@example.com"), "data.name", "line breaks"),
        (
            {
                **order_booked(event_id="x7"),
                "data": {
                    **order_booked()["data"],
                    "lines": [{"line_id": "L1", "product": "P", "kind": "paas", "tax_rate": "0.21"}],
                },
            },
            "data.lines.0",
            "annual_amount",
        ),
    ],
)
def test_a_bad_event_names_its_id_and_field(event, field, reason):
    with pytest.raises(InvalidEvent) as err:
        parse_event(event)
    assert err.value.event_id == event["id"]
    assert err.value.field == field
    assert reason in err.value.reason
    assert str(err.value).startswith(f"event {event['id']}: {field}:")


def test_unknown_optional_fields_are_accepted_for_forward_compatibility():
    event = service_activated("O-1", "L1", "2026-01-01T09:00:00Z")
    event["data"]["region"] = "eu-amsterdam-1"
    assert parse_event(event).data.line_id == "L1"


def test_invalid_json_is_reported_without_an_event_id():
    with pytest.raises(InvalidEvent) as err:
        parse_event_json("{not json")
    assert err.value.event_id == "?" and err.value.field == "(json)"


def test_redaction_hides_secret_fields_at_any_depth():
    raw = {"id": "r1", "data": {"redemption_code": "SECRET-CANARY", "usage": [{"redemption_code": "X"}]}}
    assert "SECRET-CANARY" not in json.dumps(redact(raw))
