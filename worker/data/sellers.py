"""The selling entity of each booking country, read once from `worker/data/sellers.json`
(README "The legal invoice (EN 16931)"): the seller (BG-4) of every invoice booked there."""

from __future__ import annotations

import json
import logging
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from worker.domain.einvoice.electronic_addresses import vat_electronic_address
from worker.domain.einvoice.model import Address, Seller, SellerContact
from worker.domain.einvoice.vat_categories import EU_MEMBER_STATES

log = logging.getLogger(__name__)

SELLERS_FILE = files("worker.data").joinpath("sellers.json")


#: The seller contact (BG-6, which XRechnung requires: BR-DE-2, 5, 6, 7) of every selling entity
#: unless its entry names one: Billing Support. A placeholder, like the entities' numbers.
BILLING_SUPPORT = {
    "name": "Billing Support",
    "phone": "+31 20 794 0000",
    "email": "billing-support@invoice-worker.example",
}


class UnknownSeller(LookupError):
    """No selling entity for a booking country: no legal invoice can name its seller."""


@lru_cache(maxsize=1)
def sellers() -> dict[str, Seller]:
    raw: dict[str, dict[str, Any]] = json.loads(SELLERS_FILE.read_text(encoding="utf-8"))
    return {country: _seller(entry) for country, entry in raw.items()}


def seller_for(country: str | None) -> Seller:
    """The selling entity of `country` (the invoice's booking country).

    Raises `UnknownSeller` naming the country when `sellers.json` has none.
    """
    try:
        return sellers()[country or ""]
    except KeyError:
        raise UnknownSeller(f"no selling entity for booking country {country!r} in sellers.json") from None


#: The selling entities that issue the invoices of a booking country without its own in
#: sellers.json: the EU entity for an EU member state (EU VAT), the US entity elsewhere.
FALLBACK_SELLER_EU = "NL"
FALLBACK_SELLER = "US"


def issuing_seller(country: str | None) -> Seller:
    """The entity that issues an invoice booked in `country`: its own, else the fallback above,
    so that no invoice is held for want of a seller (logged once per country)."""
    if (country or "") in sellers():
        return sellers()[country or ""]
    fallback = FALLBACK_SELLER_EU if country in EU_MEMBER_STATES else FALLBACK_SELLER
    _log_fallback_once(country, fallback)
    return sellers()[fallback]


@cache
def _log_fallback_once(country: str | None, fallback: str) -> None:
    log.warning("no selling entity for booking country %r in sellers.json; issued by the %s entity", country, fallback)


def _seller(entry: dict[str, Any]) -> Seller:
    address = entry["address"]
    return Seller(
        legal_name=entry["legal_name"],
        address=Address(
            lines=tuple(address["lines"]),
            city=address.get("city"),
            country=address["country"],
            postal_code=address.get("postal_code"),
            region=address.get("region"),
        ),
        vat_id=entry.get("vat_id"),
        company_registration=entry.get("company_registration"),
        tax_registration_id=entry.get("tax_registration_id"),
        # Peppol needs the seller's electronic address (BT-34): its VAT id under its country's scheme.
        electronic_address=vat_electronic_address(entry.get("vat_id")),
        contact=SellerContact(**entry.get("contact", BILLING_SUPPORT)),
    )
