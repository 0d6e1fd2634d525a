"""Money arithmetic: `Decimal` throughout, rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision


@lru_cache(maxsize=None)
def minor_unit_exponent(currency: str) -> Decimal:
    """The quantum of a currency's minor unit as CLDR knows it: USD -> 0.01, JPY -> 1."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (JPY has none)."""
    return amount.quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)
