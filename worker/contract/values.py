"""The value types of the contract (shared/CONTRACT.md): for each, what the worker accepts and
the JSON Schema that tells producers so, side by side so the two cannot drift apart.

Each type is one annotation on a field of `worker/contract/events.py`, e.g.
`name: Annotated[str, Text(MAX_NAME_LENGTH)]`: pydantic runs its `validate` (a plain validator:
nothing is coerced, a JSON number is not an amount, `"false"` is not a boolean) and publishes its
`json_schema()`. Where the schema uses a regular expression, the worker tests the same one and
only explains a failure in its own words.

Patterns are ECMA-262 and Python alike: `[0-9]`, never `\\d` (Python's matches Arabic-Indic
digits too, and `Decimal` reads them). Python's `jsonschema` tests a `pattern` with `re.search`,
whose `$` also matches before a final line feed, so every pattern comes with a `not` that refuses
the control characters anywhere in the value.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Literal

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError, core_schema

from worker.contract import limits
from worker.contract.vat_ids import vat_id_problem
from worker.data.iso3166 import ASSIGNED_COUNTRY_CODES
from worker.domain.money import MINOR_UNITS


def _class_range(first: int, last: int) -> str:
    return f"\\u{first:04x}" if first == last else f"\\u{first:04x}-\\u{last:04x}"


#: A regex character class (without brackets) of `limits.REFUSED_CHARACTERS`.
_REFUSED_CLASS = "".join(_class_range(first, last) for first, last in limits.REFUSED_CHARACTERS)
#: What `str.strip()` takes off a text, less what is refused anyway: a text of only these is blank.
_BLANK_CLASS = " \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000"
#: The schema's test for a refused character anywhere (unanchored: no `$` to mislead).
REFUSED_CHARACTER_PATTERN = f"[{_REFUSED_CLASS}]"
#: The schema's test for a text that is not blank.
NOT_BLANK_PATTERN = f"[^{_BLANK_CLASS}]"

_REFUSED = re.compile(REFUSED_CHARACTER_PATTERN)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_QUOTED_LENGTH = 40


#: A `not` that refuses a string holding a refused character (`type` inside: a `pattern` alone
#: holds for a non-string, and its `not` would then refuse a number with a misleading message).
REFUSED_CHARACTERS_SCHEMA = {"type": "string", "pattern": REFUSED_CHARACTER_PATTERN}


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "not": REFUSED_CHARACTERS_SCHEMA}


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, in the producer's terms ("a JSON number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, int | float | Decimal):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


def quoted(value: str) -> str:
    """A value as an error message may show it: escaped (no line break or control reaches a log
    line), cut after 40 characters."""
    if len(value) > _QUOTED_LENGTH:
        return ascii(value[:_QUOTED_LENGTH]) + "..."
    return ascii(value)


def character_problem(value: str) -> str | None:
    """Why a text is refused for a character it holds, or None."""
    found = _REFUSED.search(value)
    if found is None:
        return None
    char = found.group()
    code = ord(char)
    if char in _LINE_BREAKS:
        what = "line breaks"
    elif 0x202A <= code <= 0x202E or 0x2066 <= code <= 0x2069:
        what = "bidirectional formatting characters"
    else:
        what = "control characters"
    return f"{what} are not allowed (U+{code:04X} at character {found.start() + 1})"


def _refuse(message: str) -> PydanticCustomError:
    # A plain error type: the message is the reason `InvalidEvent` carries, as written.
    return PydanticCustomError("contract", message)


def _string(value: Any, what: str = "must be a string") -> str:
    if not isinstance(value, str):
        raise _refuse(f"{what}, not {json_kind(value)}")
    return value


class _ContractValue(ABC):
    """A field type: `validate` the decoded JSON value, publish `json_schema()`."""

    @abstractmethod
    def validate(self, value: Any) -> Any:
        """The value as the model holds it; raises the refusal `InvalidEvent` will carry."""

    @abstractmethod
    def json_schema(self) -> dict[str, Any]:
        """The same rule as JSON Schema, for `schema/events.schema.json`."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.json_schema()


@dataclass(frozen=True)
class Text(_ContractValue):
    """One line of text: a string of at most `max_length` characters, none of them refused
    (`limits.REFUSED_CHARACTERS`), not blank; surrounding spaces are taken off."""

    max_length: int

    def validate(self, value: Any) -> str:
        text = _string(value)
        if len(text) > self.max_length:
            raise _refuse(f"longer than {self.max_length} characters ({len(text)})")
        problem = character_problem(text)
        if problem:
            raise _refuse(problem)
        text = text.strip()
        if not text:
            raise _refuse("must not be empty")
        return text

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "minLength": 1,
            "maxLength": self.max_length,
            "pattern": NOT_BLANK_PATTERN,
            "not": REFUSED_CHARACTERS_SCHEMA,
        }


@dataclass(frozen=True)
class Code(_ContractValue):
    """A string of a fixed shape (a month, a locale tag): the pattern, nothing stripped."""

    pattern: str
    max_length: int
    example: str

    def validate(self, value: Any) -> str:
        text = _string(value)
        if len(text) > self.max_length or not re.fullmatch(self.pattern, text):
            raise _refuse(f"must look like {self.example!r}, not {quoted(text)}")
        return text

    def json_schema(self) -> dict[str, Any]:
        return _clean({"type": "string", "maxLength": self.max_length, "pattern": self.pattern})


@dataclass(frozen=True)
class Email(_ContractValue):
    """An email address: at most 254 octets, 64 before the `@` (RFC 5321; UTF-8 for an
    internationalized one), one address without a display name, then the syntax check of
    `email-validator` (its normalized form is kept)."""

    pattern = f"^[^@\\s<>]{{1,{limits.MAX_EMAIL_LOCAL_PART_OCTETS}}}@[^@\\s<>]+$"

    def validate(self, value: Any) -> str:
        address = _string(value)
        if len(address.encode("utf-8")) > limits.MAX_EMAIL_LENGTH:
            raise _refuse(f"value is not a valid email address: longer than {limits.MAX_EMAIL_LENGTH} octets")
        problem = character_problem(address)
        if problem:
            raise _refuse(f"value is not a valid email address: {problem}")
        local, _, _ = address.rpartition("@")
        if len(local.encode("utf-8")) > limits.MAX_EMAIL_LOCAL_PART_OCTETS:
            raise _refuse(
                "value is not a valid email address: more than "
                f"{limits.MAX_EMAIL_LOCAL_PART_OCTETS} octets before the @-sign"
            )
        if not re.fullmatch(self.pattern, address):
            raise _refuse("value is not a valid email address: one address, name@domain, without spaces or <>")
        return validate_email(address)[1]

    def json_schema(self) -> dict[str, Any]:
        return _clean(
            {
                "type": "string",
                "format": "email",
                "maxLength": limits.MAX_EMAIL_LENGTH,
                "pattern": self.pattern,
                # JSON Schema counts characters, RFC 5321 octets: the same for an ASCII address.
                "description": (
                    f"At most {limits.MAX_EMAIL_LENGTH} octets, {limits.MAX_EMAIL_LOCAL_PART_OCTETS} before the @ "
                    "(RFC 5321; UTF-8 octets for a non-ASCII address, which the worker counts)."
                ),
            }
        )


@dataclass(frozen=True)
class OneOf(_ContractValue):
    """A code from a closed list (currencies, countries)."""

    codes: frozenset[str]
    what: str

    def validate(self, value: Any) -> str:
        code = _string(value)
        if code not in self.codes:
            raise _refuse(f"{self.what}: {quoted(code)}")
        return code

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(self.codes)}


#: ISO 4217 currencies, as `worker/domain/money.py` knows their minor units.
CURRENCY = OneOf(frozenset(MINOR_UNITS), "unknown ISO 4217 currency")
#: Assigned ISO 3166-1 alpha-2 countries (`worker/data/iso3166.py`).
COUNTRY = OneOf(ASSIGNED_COUNTRY_CODES, "not an assigned ISO 3166-1 alpha-2 country code")


#: What may prefix a VAT id (EN 16931 BR-CO-09): the issuing country's ISO 3166-1 alpha-2 code,
#: EL for Greece and XI for Northern Ireland as the EU writes them.
VAT_ID_PREFIXES: frozenset[str] = ASSIGNED_COUNTRY_CODES | {"EL", "XI"}


@dataclass(frozen=True)
class VatId(_ContractValue):
    """A VAT id: its country's prefix and number in capitals and digits, without spaces, dots or
    dashes (`NL004495445B01`), whose check digits hold by its country's rules
    (`worker/contract/vat_ids.py`, python-stdnum). The schema states the shape; the check digits
    only the worker can check."""

    example = "NL004495445B01"
    shape = f"^[A-Z]{{2}}[0-9A-Z+*]{{2,{limits.MAX_VAT_ID_LENGTH - 2}}}$"

    @cached_property
    def pattern(self) -> str:
        prefixes = "|".join(sorted(VAT_ID_PREFIXES))
        return f"^(?:{prefixes})[0-9A-Z+*]{{2,{limits.MAX_VAT_ID_LENGTH - 2}}}$"

    def validate(self, value: Any) -> str:
        text = _string(value)
        if len(text) > limits.MAX_VAT_ID_LENGTH:
            raise _refuse(f"longer than {limits.MAX_VAT_ID_LENGTH} characters ({len(text)})")
        if not re.fullmatch(self.shape, text):
            raise _refuse(
                f"VAT id {quoted(text)}: its country's code and number in capitals and digits, "
                f"without spaces, dots or dashes, such as {self.example!r}"
            )
        if text[:2] not in VAT_ID_PREFIXES:
            raise _refuse(
                f"VAT id {text}: {text[:2]} is not an ISO 3166-1 alpha-2 country code "
                "(EL is Greece's and XI Northern Ireland's, as the EU writes them)"
            )
        problem = vat_id_problem(text)
        if problem:
            raise _refuse(problem)
        return text

    def json_schema(self) -> dict[str, Any]:
        return _clean(
            {
                "type": "string",
                "maxLength": limits.MAX_VAT_ID_LENGTH,
                "pattern": self.pattern,
                "examples": [self.example],
                "description": (
                    "The issuing country's ISO 3166-1 alpha-2 code (EL for Greece, XI for Northern "
                    "Ireland) and the number, capitals and digits only. Its check digits, which JSON "
                    "Schema cannot state, the worker checks by its country's rules (python-stdnum: "
                    "stdnum.eu.vat for an EU prefix, the country's own module for another where "
                    'there is one); README "Limits".'
                ),
            }
        )


#: A Peppol participant id's scheme: a 4-digit ISO 6523 ICD (0208 Belgian enterprise number,
#: 0106 Dutch KvK, 9925 Belgian VAT, 0088 GLN, ...).
_PEPPOL_SCHEME = "[0-9]{4}"
#: The id after it: letters, digits, `.`, `_` and `-`, starting with a letter or a digit.
_PEPPOL_VALUE = f"[0-9A-Za-z][0-9A-Za-z._-]{{0,{limits.MAX_PEPPOL_ID_LENGTH - 1}}}"


@dataclass(frozen=True)
class PeppolId(_ContractValue):
    """A Peppol participant id, `<scheme>:<id>` (`0208:0123456789`): the scheme a 4-digit ISO
    6523 ICD, the id at most `limits.MAX_PEPPOL_ID_LENGTH` characters."""

    example = "0208:0123456789"
    pattern = f"^{_PEPPOL_SCHEME}:{_PEPPOL_VALUE}$"

    def validate(self, value: Any) -> str:
        text = _string(value)
        if re.fullmatch(self.pattern, text):
            return text
        scheme, colon, participant = text.partition(":")
        if not colon:
            raise _refuse(
                f"peppol_id {quoted(text)} has no scheme: write '<ISO 6523 ICD>:<id>', such as {self.example!r}"
            )
        if not re.fullmatch(_PEPPOL_SCHEME, scheme):
            raise _refuse(
                f"peppol_id {quoted(text)}: its scheme is a 4-digit ISO 6523 ICD (0208, 0106, 9925, 0088, ...), "
                f"not {quoted(scheme)}"
            )
        if len(participant) > limits.MAX_PEPPOL_ID_LENGTH:
            raise _refuse(
                f"peppol_id: the id after the scheme is longer than {limits.MAX_PEPPOL_ID_LENGTH} "
                f"characters ({len(participant)})"
            )
        raise _refuse(
            f"peppol_id {quoted(text)}: the id after the scheme is letters, digits, '.', '_' and '-', "
            "starting with a letter or a digit"
        )

    def json_schema(self) -> dict[str, Any]:
        return _clean(
            {
                "type": "string",
                "maxLength": 5 + limits.MAX_PEPPOL_ID_LENGTH,
                "pattern": self.pattern,
                "examples": [self.example],
            }
        )


def _positive_decimal(integer_digits: int, decimals: int) -> str:
    # Without a lookahead (not every validator has one): 1-9 first, or "0." and a non-zero digit.
    whole = f"[1-9][0-9]{{0,{integer_digits - 1}}}(?:\\.[0-9]{{1,{decimals}}})?"
    fractions = [f"0\\.{'0' * zeros}[1-9][0-9]{{0,{decimals - 1 - zeros}}}" for zeros in range(decimals)]
    return "|".join([whole, *fractions])


_DECIMAL_SHAPE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


@dataclass(frozen=True)
class Amount(_ContractValue):
    """Money: a decimal string (`"24000.00"`), at most 15 digits before the point and 4 after, no
    exponent, no leading zero; held to its currency's minor unit by the event model."""

    sign: Literal["signed", "non_negative", "positive"] = "non_negative"
    integer_digits: int = limits.AMOUNT_MAX_INTEGER_DIGITS
    decimals: int = limits.AMOUNT_MAX_DECIMALS
    noun: str = "amount"
    example: str = "24000.00"

    @cached_property
    def pattern(self) -> str:
        if self.sign == "positive":
            return f"^(?:{_positive_decimal(self.integer_digits, self.decimals)})$"
        minus = "-?" if self.sign == "signed" else ""
        return f"^{minus}(?:0|[1-9][0-9]{{0,{self.integer_digits - 1}}})(?:\\.[0-9]{{1,{self.decimals}}})?$"

    def validate(self, value: Any) -> Decimal:
        text = _string(value, f'{self.noun} must be a decimal string such as "{self.example}"')
        if re.fullmatch(self.pattern, text):
            return Decimal(text)
        raise _refuse(f"{self.noun} {quoted(text)}: {self._fault(text)}")

    def _fault(self, text: str) -> str:
        shape = _DECIMAL_SHAPE.fullmatch(text)
        if shape is None:
            if re.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]+", text):
                return f'exponents are not allowed; write the digits, such as "{self.example}"'
            return f'not a decimal string such as "{self.example}"'
        minus, whole, fraction = shape.groups()
        if minus and self.sign != "signed":
            return "must not be negative"
        if len(whole) > 1 and whole.startswith("0"):
            return "leading zeros are not allowed"
        if len(whole) > self.integer_digits:
            return f"more than {self.integer_digits} digits before the decimal point"
        if fraction is not None and len(fraction) > self.decimals:
            return f"more than {self.decimals} decimal places"
        return "must be more than 0"  # the only rule left: a positive amount is not zero

    def json_schema(self) -> dict[str, Any]:
        return _clean({"type": "string", "pattern": self.pattern, "examples": [self.example]})


@dataclass(frozen=True)
class TaxRate(_ContractValue):
    """A tax rate: a decimal string from 0 to 1 (`"0.21"` is 21%), at most 6 decimal places."""

    decimals: int = limits.TAX_RATE_MAX_DECIMALS

    @cached_property
    def pattern(self) -> str:
        return f"^(?:0(?:\\.[0-9]{{1,{self.decimals}}})?|1(?:\\.0{{1,{self.decimals}}})?)$"

    def validate(self, value: Any) -> Decimal:
        text = _string(value, 'tax rate must be a decimal string such as "0.21"')
        if not re.fullmatch(self.pattern, text):
            raise _refuse(
                f"tax rate {quoted(text)}: must be a fraction from 0 to 1 with at most {self.decimals} "
                'decimal places, such as "0.21" for 21%'
            )
        return Decimal(text)

    def json_schema(self) -> dict[str, Any]:
        return _clean({"type": "string", "pattern": self.pattern, "examples": ["0.21"]})


@dataclass(frozen=True)
class Count(_ContractValue):
    """A whole number in a range, as a JSON integer (`12`; `12.0` is the same number)."""

    minimum: int
    maximum: int

    def validate(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise _refuse(f"must be a JSON integer, not {json_kind(value)}")
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite or value != int(value):
            raise _refuse(f"must be a whole number, not {value}")
        if not self.minimum <= value <= self.maximum:
            raise _refuse(f"must be from {self.minimum} to {self.maximum}, not {int(value)}")
        return int(value)

    def json_schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


class Bool(_ContractValue):
    """A JSON boolean: `true` or `false`, never the string `"false"` (which Python calls true)."""

    def validate(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise _refuse(f"must be a JSON boolean (true or false), not {json_kind(value)}")
        return value

    def json_schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


# Years limits.MIN_YEAR (1900) to limits.MAX_YEAR (2999), each day checked against its month and
# February 29 against the leap years, so that the pattern alone says which dates exist.
_YEAR = "(?:19[0-9]{2}|2[0-9]{3})"
_LEAP_YEAR = "(?:19(?:0[48]|[2468][048]|[13579][26])|2[0-9](?:0[48]|[2468][048]|[13579][26])|2[048]00)"
DATE_BODY = (
    f"(?:{_YEAR}-(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    f"|{_YEAR}-(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    f"|{_YEAR}-02-(?:0[1-9]|1[0-9]|2[0-8])"
    f"|{_LEAP_YEAR}-02-29)"
)
#: RFC 3339 `full-time`, with a zone: `Z` or an offset; seconds 00-59 (no leap second), up to
#: nanoseconds (Python keeps microseconds).
TIME_BODY = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
MONTH_PATTERN = f"^{_YEAR}-(?:0[1-9]|1[0-2])$"


class Day(_ContractValue):
    """A date, `YYYY-MM-DD`."""

    pattern = f"^{DATE_BODY}$"

    def validate(self, value: Any) -> date:
        text = _string(value, 'date must be a string such as "2026-01-31"')
        if not re.fullmatch(self.pattern, text):
            raise _refuse(
                f'date {quoted(text)}: must be a real date YYYY-MM-DD, such as "2026-01-31", '
                f"in the years {limits.MIN_YEAR}-{limits.MAX_YEAR}"
            )
        return date.fromisoformat(text)

    def json_schema(self) -> dict[str, Any]:
        return _clean({"type": "string", "format": "date", "pattern": self.pattern})


class Timestamp(_ContractValue):
    """A moment, RFC 3339 with a zone: `2026-01-01T09:00:00Z`, `2026-01-01T10:00:00+01:00`."""

    pattern = f"^{DATE_BODY}[Tt]{TIME_BODY}$"

    def validate(self, value: Any) -> datetime:
        text = _string(value, 'timestamp must be an RFC 3339 string such as "2026-01-01T09:00:00Z"')
        if not re.fullmatch(self.pattern, text):
            raise _refuse(
                f"timestamp {quoted(text)}: must be RFC 3339 with a zone (Z or an offset), "
                f'such as "2026-01-01T09:00:00Z", in the years {limits.MIN_YEAR}-{limits.MAX_YEAR}'
            )
        return datetime.fromisoformat(text.upper())

    def json_schema(self) -> dict[str, Any]:
        return _clean({"type": "string", "format": "date-time", "pattern": self.pattern})
