"""Which e-invoice travels with an account's invoices, and why. Pure: the policies are passed in.

The account's `einvoice` (`account.updated`) decides; `auto`, its default, takes its country's
policy (`countries.json` `einvoice`: DE and FR `facturx`, BE and NL `ubl`, every other `none`).
A format that needs a buyer field the account lacks is not sent without it (the document would
fail its rules at the gate): the invoice gets Factur-X where the country accepts it, else the
PDF alone, and the choice's `reason` says what was missing (README "E-invoices").

- `facturx` (CII in the PDF/A-3) needs nothing more;
- `ubl` (Peppol BIS Billing 3.0) needs `peppol_id` (BT-49, the buyer's Peppol address);
- `xrechnung` (UBL with the XRechnung CIUS) needs `buyer_reference` (BT-10, the Leitweg-ID) and
  an address with its `postal_code` (BR-DE-8, BR-DE-9: the buyer's city and post code);
- `none` is the PDF alone.

Without what it needs, the invoice gets `facturx` where the country accepts it, else `none`.
Factur-X is accepted where the country's own policy is `facturx` (France's reform) or
`xrechnung` (Germany, whose e-invoice is XRechnung or ZUGFeRD/Factur-X EN 16931 alike).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from worker.domain.model import EINVOICE_CHOICES, Account

Format = Literal["facturx", "ubl", "xrechnung", "none"]

#: What a country's policy may be (`countries.json`); an account may also ask for `auto`.
COUNTRY_POLICIES: tuple[Format, ...] = ("facturx", "ubl", "xrechnung", "none")
#: Country policies under which Factur-X is an accepted e-invoice, and so the fallback.
FACTURX_ACCEPTED: frozenset[str] = frozenset({"facturx", "xrechnung"})

#: How an operator reads each format's name.
FORMAT_NAMES: dict[str, str] = {
    "facturx": "Factur-X",
    "ubl": "UBL (Peppol)",
    "xrechnung": "XRechnung",
    "none": "no e-invoice",
}


@dataclass(frozen=True)
class EinvoiceChoice:
    """The e-invoice of an account's invoices: `format`, and `reason` in a sentence for
    `status` ("UBL (Peppol) needs the buyer's peppol_id; sent as Factur-X")."""

    format: Format
    reason: str
    #: What the account's or its country's policy asked for.
    asked: Format

    @property
    def fell_back(self) -> bool:
        """True when a field the asked format needs was missing."""
        return self.format != self.asked


def decide(account_policy: str, country_policy: str, account: Account) -> EinvoiceChoice:
    """The e-invoice for `account`, asking `account_policy` (its `einvoice`) under its country's
    `country_policy`.

    Raises:
      ValueError: for a policy that is not one of `EINVOICE_CHOICES` (the account's) or
        `COUNTRY_POLICIES` (the country's: a fault of the data file).
    """
    if account_policy not in EINVOICE_CHOICES:
        raise ValueError(f"account {account.account_id}: unknown e-invoice choice {account_policy!r}")
    if country_policy not in COUNTRY_POLICIES:
        raise ValueError(f"country {account.country}: unknown e-invoice policy {country_policy!r}")
    country: Format = country_policy
    asked = country if account_policy == "auto" else cast(Format, account_policy)
    missing = _missing(asked, account)
    if missing is None:
        return EinvoiceChoice(
            asked, _as_asked(asked, by_country=account_policy == "auto", country=account.country), asked
        )
    fallback: Format = "facturx" if country in FACTURX_ACCEPTED else "none"
    sent_as = "Factur-X" if fallback == "facturx" else "the PDF alone"
    return EinvoiceChoice(fallback, f"{FORMAT_NAMES[asked]} needs {missing}; sent as {sent_as}", asked)


def _as_asked(asked: Format, *, by_country: bool, country: str) -> str:
    if by_country:
        if asked == "none":
            return f"{country} has no e-invoice policy: the PDF alone"
        return f"{country}'s policy is {FORMAT_NAMES[asked]}"
    if asked == "none":
        return "the account asks for no e-invoice: the PDF alone"
    return f"the account asks for {FORMAT_NAMES[asked]}"


def _missing(asked: Format, account: Account) -> str | None:
    """What `asked` needs that the account lacks, as the reason names it, or None."""
    if asked == "ubl" and not account.peppol_id:
        return "the buyer's peppol_id"
    if asked == "xrechnung":
        if not account.buyer_reference:
            return "the buyer's buyer_reference (its Leitweg-ID)"
        address = account.address
        if address is None or not address.postal_code:
            return "the buyer's address with its city and postal_code"
    return None
