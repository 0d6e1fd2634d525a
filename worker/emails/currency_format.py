"""Amounts in one locale and currency as Babel formats them, at a fraction of Babel's cost per call.

``babel.numbers.format_currency`` looks up, on every call, the locale's currency pattern, its
group and decimal symbols, the currency's digits, symbol and (for ``¤¤¤`` patterns) plural name,
and then applies the pattern: ~25 µs an amount, about ten amounts an invoice email.
:class:`CurrencyFormat` looks all of that up once per (locale, currency), from Babel's CLDR data,
and applies the pattern as ``NumberPattern.apply`` does. Patterns with anything that lookup-once
does not cover (scientific or significant-digit notation, a scale, the currency's plural name,
unbalanced quotes) and non-finite values are handed to Babel's ``NumberPattern.apply`` itself.
The decimals are the currency's ISO 4217 minor unit (``worker.domain.money``), not CLDR's digits.
``tests/test_currency_format.py`` checks the two agree for every supported locale and currency.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import (
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)

from worker.domain.money import minor_unit_digits

# NumberPattern.apply removes quotes around literal text and turns '' into '.
_QUOTED = re.compile(r"'([^']*)'")


def _unquote(text: str) -> str:
    return _QUOTED.sub(lambda match: match.group(1) or "'", text)


class CurrencyFormat:
    """``format_currency(amount, currency, locale=locale)`` for one locale and currency, with
    the currency's ISO 4217 decimals (``worker.domain.money``) in place of CLDR's."""

    def __init__(self, locale: Locale, currency: str) -> None:
        self._locale = locale
        self._currency = currency
        pattern = locale.currency_formats["standard"]
        affixes = (*pattern.prefix, *pattern.suffix)
        # What apply() does that is not looked up once here is left to Babel.
        self._babel_only = bool(
            pattern.exp_prec
            or "@" in pattern.pattern
            or pattern.scale
            or any("¤¤¤" in affix or affix.count("'") % 2 for affix in affixes)
        )
        # The invoice's decimals (ISO 4217, worker.domain.money), not CLDR's display digits: an amount
        # rounded to cents is shown with its cents in every locale.
        digits = minor_unit_digits(currency)
        self._pattern = copy.copy(pattern)
        self._pattern.frac_prec = (digits, digits)
        self._quantum = Decimal(10) ** -digits
        self._digits = digits
        self._min_int_digits = pattern.int_prec[0]
        self._first_group, self._other_groups = pattern.grouping
        self._group = get_group_symbol(locale, numbering_system="latn")
        self._decimal = get_decimal_symbol(locale, numbering_system="latn")
        # Babel's apply() unquotes the whole result, digits included, so a quote as separator
        # (de-CH, fr-CH, it-CH: "19'458.00") is lost there ("19458.00", Babel 2.19): such
        # amounts are formatted here, where the separator is inserted as it is.
        symbol = get_currency_symbol(currency, locale)

        def affix(text: str) -> str:
            return _unquote(text.replace("¤¤", currency.upper()).replace("¤", symbol))

        self._prefixes = tuple(affix(text) for text in pattern.prefix)
        self._suffixes = tuple(affix(text) for text in pattern.suffix)

    def __call__(self, amount: Decimal | int | str) -> str:
        """The formatted amount; raises ``decimal.InvalidOperation`` for a string that is no number."""
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        if self._babel_only or not value.is_finite():
            return self._pattern.apply(value, self._locale, currency=self._currency, currency_digits=False)
        negative = int(value.is_signed())
        integer, _, fraction = f"{abs(value).normalize().quantize(self._quantum):f}".partition(".")
        return self._prefixes[negative] + self._grouped(integer) + self._fraction(fraction) + self._suffixes[negative]

    def _grouped(self, digits: str) -> str:
        if len(digits) < self._min_int_digits:
            digits = "0" * (self._min_int_digits - len(digits)) + digits
        size, grouped = self._first_group, ""
        while len(digits) > size:
            grouped = self._group + digits[-size:] + grouped
            digits = digits[:-size]
            size = self._other_groups
        return digits + grouped

    def _fraction(self, digits: str) -> str:
        # The currency's digits, exactly (quantize already made them so); none for JPY and the like.
        if self._digits == 0:
            return ""
        return self._decimal + digits.ljust(self._digits, "0")


def format_number(value: Decimal | int, locale: Locale) -> str:
    """``babel.numbers.format_decimal(value, locale=locale)``, keeping a quote group separator
    that Babel drops (``format_decimal(2124000, locale="de_CH")`` gives "2124000")."""
    group = get_group_symbol(locale, numbering_system="latn")
    if "'" not in group:
        return format_decimal(value, locale=locale)
    plain = format_decimal(value, locale=locale, group_separator=False)
    sign = plain[0] if plain[:1] in "-+" else ""
    digits = plain[len(sign) :]
    end = len(digits) - len(digits.lstrip("0123456789"))
    integer, rest = digits[:end], digits[end:]
    first, other = locale.decimal_formats[None].grouping
    size, grouped = first, ""
    while len(integer) > size:
        grouped = group + integer[-size:] + grouped
        integer = integer[:-size]
        size = other
    return sign + integer + grouped + rest


#: Formats kept: every supported locale times every currency it is used with, with room to spare.
FORMATS_CACHED = 1024


@lru_cache(maxsize=FORMATS_CACHED)
def currency_format(locale: Locale, currency: str) -> CurrencyFormat:
    """The kept :class:`CurrencyFormat` of ``locale`` and ``currency``.

    Raises ``KeyError`` when the locale has no standard currency pattern.
    """
    return CurrencyFormat(locale, currency)
