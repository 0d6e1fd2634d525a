"""How the e-invoice XML writes values: amounts in the currency's minor unit, rates, dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from worker.domain.money import minor_unit_exponent


def amount(value: Decimal, currency: str) -> str:
    """``1210.00`` (EUR), ``1210`` (JPY): plain digits, as many decimals as the currency has."""
    return str(value.quantize(minor_unit_exponent(currency)))


def rate(value: Decimal) -> str:
    """A percentage without trailing zeros: ``21``, ``8.25``, ``0``."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def basic_date(value: date) -> str:
    """CII's date format 102: ``20260201``."""
    return value.strftime("%Y%m%d")
