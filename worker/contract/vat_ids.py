"""VAT ids checked by their country's rules (python-stdnum): the check digits JSON Schema cannot
state, behind `worker.contract.values.VatId`.

A VAT id is its country's prefix and number (EN 16931 BR-CO-09: an ISO 3166-1 alpha-2 prefix,
EL for Greece; XI for Northern Ireland). The prefix picks the rules:

- an EU member state's (and XI): `stdnum.eu.vat`, the country's own check digits;
- another country's where python-stdnum has a module for its VAT or tax number
  (`stdnum.gb.vat`, `stdnum.ch.vat`, `stdnum.no.mva`, `stdnum.au.abn`, ...): that module, given
  the id as sent (`CHE107787577MWST`, `NO995525828MVA`) or without its prefix
  (`AU51824753556`), as the module reads its numbers;
- any other country's (the US has no VAT): the shape alone, which `VatId` has already checked.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from stdnum.eu import vat as eu_vat
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.util import get_cc_module

#: Prefixes `stdnum.eu.vat` checks: the member states, GR as EL too, and XI.
EU_PREFIXES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES) | {"EL"}


@cache
def _national_validator(prefix: str) -> Callable[[str], str] | None:
    module = get_cc_module(prefix, "vat")
    return module.validate if module is not None else None


def national_rules(prefix: str) -> str:
    """Which rules check a VAT id of this prefix: "eu", "national" or "shape" (README "Limits")."""
    if prefix in EU_PREFIXES:
        return "eu"
    return "national" if _national_validator(prefix) else "shape"


def vat_id_problem(vat_id: str) -> str | None:
    """Why a VAT id of a valid shape (`VatId.pattern`) fails its country's rules, or None.

    The id is shown as sent: its shape leaves it only capitals, digits, `+` and `*`. An id
    that is valid only once python-stdnum rewrites it (zeros it pads) is refused with the form
    to send."""
    prefix = vat_id[:2]
    if prefix in EU_PREFIXES:
        candidates: list[tuple[Callable[[str], str], str]] = [(eu_vat.validate, vat_id)]
    else:
        validate = _national_validator(prefix)
        if validate is None:
            return None
        # Some modules read the prefix (CHE..., NO...MVA), others only the national number.
        candidates = [(validate, vat_id), (validate, vat_id[2:])]
    errors: list[ValidationError] = []
    for validate, number in candidates:
        try:
            canonical = validate(number)
        except ValidationError as exc:
            errors.append(exc)
            continue
        except ValueError:
            # A module that parses before it checks (stdnum.gh.tin reads GHC00000000A0's "A" as a
            # digit) raises a plain ValueError: the number is not in its format.
            errors.append(InvalidFormat())
            continue
        if canonical == number:
            return None
        # Valid once the module has padded or reordered it (BE403019261 is BE0403019261): the
        # e-invoice carries the id as sent, so it is asked for as the register writes it.
        written = canonical if canonical.startswith(prefix) else prefix + canonical
        if written == vat_id:
            return None
        return f"write {vat_id} in full, as {written}"
    # The most telling verdict: a wrong check digit says more than a format the other reading missed.
    if any(isinstance(error, InvalidChecksum) for error in errors):
        return f"{vat_id} fails the {prefix} check digits"
    if any(isinstance(error, InvalidLength) for error in errors):
        return f"{vat_id} has the wrong number of characters for {prefix}'s VAT ids"
    return f"{vat_id} is not in the format of {prefix}'s VAT ids"
