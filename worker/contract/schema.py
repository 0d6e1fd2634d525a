"""The contract as one JSON Schema document, generated from the models of
`worker/contract/events.py` with every rule JSON Schema can state, and published as
`schema/events.schema.json` (`invoice-worker schema`)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from worker.contract import limits
from worker.contract.events import DATA_MODELS, ContractModel, Envelope
from worker.domain.money import MINOR_UNITS


def _at_paths(paths: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    """A schema that applies `leaf` to the value at each path (`lines.*.annual_amount`)."""
    root: dict[str, Any] = {}
    for path in paths:
        node = root
        for part in path.split("."):
            node = (
                node.setdefault("items", {}) if part == "*" else node.setdefault("properties", {}).setdefault(part, {})
            )
        node.update(leaf)
    return root


def _minor_unit_rules(data_model: type[ContractModel]) -> list[dict[str, Any]]:
    """`if` the currency has fewer decimals than an amount may have, `then` its amounts have no
    non-zero digit past them."""
    rules = []
    for digits in sorted(set(MINOR_UNITS.values())):
        if digits >= limits.AMOUNT_MAX_DECIMALS:
            continue
        fraction = f"(?:\\.[0-9]{{1,{digits}}}0*)?" if digits else "(?:\\.0+)?"
        rules.append(
            {
                "description": f"amounts in a currency of {digits} decimal places (ISO 4217 minor unit)",
                "if": {
                    "properties": {"currency": {"enum": sorted(c for c, d in MINOR_UNITS.items() if d == digits)}},
                    "required": ["currency"],
                },
                "then": _at_paths(data_model.CURRENCY_AMOUNTS, {"pattern": f"^-?[0-9]+{fraction}$"}),
            }
        )
    return rules


def json_schema() -> dict[str, Any]:
    """The contract as one JSON Schema document (draft 2020-12), for producers: every rule of
    the models above that JSON Schema can say (those it cannot are in the descriptions of
    `TermIn`, `OrderBooked` and `AccountUpdated`'s `vat_id`)."""
    defs: dict[str, Any] = {}
    for data_model in DATA_MODELS.values():
        schema = TypeAdapter(data_model).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        if data_model.CURRENCY_AMOUNTS:
            schema["allOf"] = _minor_unit_rules(data_model)
        defs[data_model.__name__] = schema
    envelope = TypeAdapter(Envelope).json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://invoice-worker.example/schema/events.schema.json",
        "title": "invoice-worker event",
        "description": (
            "One event of shared/CONTRACT.md, generated from worker/contract/events.py "
            "(`invoice-worker schema`). Amounts are JSON strings holding decimals; the limits "
            'are README\'s "Limits".'
        ),
        "type": "object",
        "required": envelope["required"],
        "properties": envelope["properties"],
        # A discriminator on `type`: one `if`/`then` per type, so that a validator reports the
        # field of `data` at fault rather than which type was expected.
        "allOf": [
            {
                "if": {"properties": {"type": {"const": type_name}}, "required": ["type"]},
                "then": {"properties": {"data": {"$ref": f"#/$defs/{data_model.__name__}"}}},
            }
            for type_name, data_model in DATA_MODELS.items()
        ],
        "$defs": defs,
    }
