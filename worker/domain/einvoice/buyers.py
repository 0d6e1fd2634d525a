"""The buyer (EN 16931 BG-7) an account's invoice-document fields describe. Pure."""

from __future__ import annotations

from dataclasses import replace

from worker.domain.einvoice.model import Address, Buyer, ElectronicAddress
from worker.domain.model import Account


def buyer_of(account: Account) -> Buyer:
    """The buyer of `account`: its legal name (its name when it gave none), address, VAT id,
    buyer reference (BT-10) and Peppol id as the electronic address (BT-49, `<scheme>:<id>`).

    An account without an address has none here: `legal_invoice` addresses it by its country.
    """
    address = account.address
    electronic_address = None
    if account.peppol_id:
        scheme, _, identifier = account.peppol_id.partition(":")
        electronic_address = ElectronicAddress(scheme=scheme, identifier=identifier)
    return Buyer(
        legal_name=account.legal_name or account.name,
        address=None
        if address is None
        else Address(
            lines=address.lines,
            city=address.city,
            country=address.country,
            postal_code=address.postal_code,
            region=address.region,
        ),
        vat_id=account.vat_id,
        buyer_reference=account.buyer_reference,
        electronic_address=electronic_address,
    )


def routed_for(buyer: Buyer, einvoice: str, *, po_number: str | None, order_id: str) -> Buyer:
    """The buyer as the e-invoice `einvoice` needs it. Peppol asks for a buyer reference or a PO
    number (PEPPOL-EN16931-R003): without either, the order number is BT-10, the reference the
    buyer's accounts payable can route by."""
    if einvoice == "ubl" and not buyer.buyer_reference and not po_number:
        return replace(buyer, buyer_reference=order_id)
    return buyer
