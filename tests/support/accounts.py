"""An account as `account.updated` stored it before issue 13 (no document fields), as a dict."""

from __future__ import annotations

from typing import Any

ACME_BEFORE_DOCUMENT_FIELDS: dict[str, Any] = {
    "account_id": "A-100",
    "name": "Acme B.V.",
    "country": "NL",
    "sector": "commercial",
    "ula": False,
    "pay_as_you_go": False,
    "dunning": {"name": "Debiteuren", "email": "ar@acme.example", "locale": None},
    "account_relationship": None,
}
