"""Peppol electronic addresses (BT-34, BT-49) from VAT ids. Pure.

Peppol BIS Billing 3.0 requires both parties' electronic address (PEPPOL-EN16931-R010, R020),
an identifier under an EAS scheme. A seller without its own is addressed by its VAT id under its
country's VAT scheme, from the Peppol participant identifier schemes code list (v9.4, active
entries named `<country>:VAT`).
"""

from __future__ import annotations

from worker.domain.einvoice.model import ElectronicAddress

#: Country -> the EAS code of its VAT-number scheme.
VAT_SCHEMES: dict[str, str] = {
    "AD": "9922", "AL": "9923", "AT": "9914", "BA": "9924", "BE": "9925", "BG": "9926", "CH": "9927",
    "CY": "9928", "CZ": "9929", "DE": "9930", "EE": "9931", "ES": "9920", "FR": "9957", "GB": "9932",
    "GR": "9933", "EL": "9933", "HR": "9934", "HU": "9910", "IE": "9935", "LI": "9936", "LT": "9937",
    "LU": "9938", "LV": "9939", "MC": "9940", "ME": "9941", "MK": "9942", "MT": "9943", "NL": "9944",
    "PL": "9945", "PT": "9946", "RO": "9947", "RS": "9948", "SI": "9949", "SK": "9950", "SM": "9951",
    "TR": "9952", "VA": "9953",
}  # fmt: skip


def vat_electronic_address(vat_id: str | None) -> ElectronicAddress | None:
    """``NL820345003B01`` -> 9944:NL820345003B01; None without a VAT id or a scheme for it."""
    if not vat_id or len(vat_id) < 3:
        return None
    scheme = VAT_SCHEMES.get(vat_id[:2].upper())
    return ElectronicAddress(scheme, vat_id) if scheme else None
