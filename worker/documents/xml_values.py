"""How the e-invoice XML writes elements and values: amounts in the currency's minor unit, rates,
dates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from lxml import etree
from lxml.etree import _Element

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


def sub_element(
    namespaces: Mapping[str, str], parent: _Element, tag: str, text: str | None = None, **attributes: str
) -> _Element:
    """A child `prefix:name` of `parent` (its namespace from `namespaces`), with its text."""
    prefix, _, name = tag.partition(":")
    element = etree.SubElement(parent, f"{{{namespaces[prefix]}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element
