"""Money arithmetic: `Decimal` throughout, rounded half-up to the currency's minor unit.

How many decimals an amount of a currency has is decided here and nowhere else, from ISO 4217
(list one, "Current currency & funds code list", published by SIX Financial Information as the
ISO 4217 maintenance agency; column "Minor unit"): it is what invoices, banks and payment
networks settle in. CLDR's currency digits (Babel's `get_currency_precision`) are a display
preference that changes between releases (Babel 2.19 gave COP 0 digits where 2.16-2.18 gave 2),
so they are never used for an amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

#: Currencies whose minor unit is not 2 decimals (ISO 4217 list one, as amended to 2025).
_MINOR_UNITS_OTHER_THAN_2: dict[str, int] = {
    # No minor unit.
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # Thousandths.
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # Units of account with four decimals.
    "CLF": 4, "UYW": 4,
}  # fmt: skip

#: Every other current ISO 4217 currency and fund code: 2 decimals.
_MINOR_UNITS_2 = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
    LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
    NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER
    ZAR ZMW ZWG
    """.split()  # noqa: SIM905 - a table, read as one
)

#: Every currency an amount may be in, with its minor unit (decimals).
MINOR_UNITS: dict[str, int] = dict.fromkeys(_MINOR_UNITS_2, 2) | _MINOR_UNITS_OTHER_THAN_2


class UnknownCurrency(ValueError):
    """A currency code that is not a current ISO 4217 code: no amount can be rounded in it."""


def minor_unit_digits(currency: str) -> int:
    """Decimals of the currency's minor unit (ISO 4217): USD 2, JPY 0, KWD 3."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown ISO 4217 currency {currency!r}") from None


@cache
def minor_unit_exponent(currency: str) -> Decimal:
    """The quantum of a currency's minor unit: USD -> 0.01, JPY -> 1."""
    return Decimal(1).scaleb(-minor_unit_digits(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (JPY has none)."""
    return amount.quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)
