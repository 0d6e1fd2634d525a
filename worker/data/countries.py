"""Per-country facts and per-currency card limits, read once from the package's data files
(`worker/data/countries.json`, `worker/data/card_limits.json`; README "Payment guidance data"),
and each country's e-invoice policy (README "E-invoices")."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from typing import Any

from worker.domain.einvoice.policy import COUNTRY_POLICIES, EinvoiceChoice, decide
from worker.domain.model import Account, Invoice
from worker.domain.payments import CardLimits, PaymentOptions, payment_options

COUNTRIES_FILE = files("worker.data").joinpath("countries.json")
CARD_LIMITS_FILE = files("worker.data").joinpath("card_limits.json")


@lru_cache(maxsize=1)
def countries() -> dict[str, dict[str, Any]]:
    facts: dict[str, dict[str, Any]] = json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))
    return facts


def country_facts(country: str | None) -> dict[str, Any]:
    return countries().get(country or "", {})


def default_locale(country: str | None) -> str | None:
    locale: str | None = country_facts(country).get("default_locale")
    return locale


#: The e-invoice of a country missing from `countries.json`, or without `einvoice`: the PDF alone.
DEFAULT_EINVOICE_POLICY = "none"


def einvoice_policy(country: str | None) -> str:
    """The country's e-invoice policy (`countries.json` `einvoice`): `facturx`, `ubl`,
    `xrechnung` or `none` (README "E-invoices")."""
    policy: str = country_facts(country).get("einvoice", DEFAULT_EINVOICE_POLICY)
    if policy not in COUNTRY_POLICIES:
        raise ValueError(f"countries.json: {country}'s einvoice {policy!r} is not one of {', '.join(COUNTRY_POLICIES)}")
    return policy


def account_einvoice(account: Account) -> EinvoiceChoice:
    """The e-invoice of the account's invoices: its `einvoice` under its country's policy."""
    return decide(account.einvoice, einvoice_policy(account.country), account)


@lru_cache(maxsize=1)
def card_limits() -> dict[str, CardLimits]:
    raw = json.loads(CARD_LIMITS_FILE.read_text(encoding="utf-8"))
    return {currency: CardLimits(Decimal(v["card_max"]), Decimal(v["card_only_below"])) for currency, v in raw.items()}


def invoice_payment_options(invoice: Invoice) -> PaymentOptions:
    """The payment options of an invoice, from the project's data files."""
    return payment_options(
        total=invoice.total,
        currency=invoice.currency,
        country=invoice.country,
        reference=invoice.number,
        country_facts=countries(),
        limits=card_limits(),
    )
