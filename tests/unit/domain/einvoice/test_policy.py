"""Which e-invoice an account's invoices carry: the account's choice or its country's policy, and
Factur-X or the PDF alone, with the reason an operator reads, when a field the format needs is
missing. One case per row of the table in `worker/domain/einvoice/policy.py`."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from worker.contract.events import AccountUpdated
from worker.domain.einvoice.policy import EinvoiceChoice, decide
from worker.domain.model import EINVOICE_CHOICES, Account, Address

BARE = Account("A-1", "Acme", "NL", "commercial")
PEPPOL = replace(BARE, peppol_id="0208:0403019261")
BERLIN = Address(lines=("Unter den Linden 1",), city="Berlin", country="DE", postal_code="10117")
LEITWEG = replace(BARE, buyer_reference="04011000-12345-34", address=BERLIN)


def _in(account: Account, country: str) -> Account:
    return replace(account, country=country)


#: (case, the account's einvoice, its country's policy, the account, format, asked, reason).
ROWS: list[tuple[str, str, str, Account, str, str, str]] = [
    # auto: the country's policy
    ("auto in Germany", "auto", "facturx", _in(BARE, "DE"), "facturx", "facturx", "DE's policy is Factur-X"),
    ("auto in France", "auto", "facturx", _in(BARE, "FR"), "facturx", "facturx", "FR's policy is Factur-X"),
    ("auto in Belgium with a Peppol id", "auto", "ubl", _in(PEPPOL, "BE"), "ubl", "ubl", "BE's policy is UBL (Peppol)"),
    (
        "auto in the Netherlands without a Peppol id",
        "auto",
        "ubl",
        _in(BARE, "NL"),
        "none",
        "ubl",
        "UBL (Peppol) needs the buyer's peppol_id; sent as the PDF alone",
    ),
    (
        "auto in a country without a policy",
        "auto",
        "none",
        _in(PEPPOL, "US"),
        "none",
        "none",
        "US has no e-invoice policy: the PDF alone",
    ),
    (
        "auto in an XRechnung country with what it needs",
        "auto",
        "xrechnung",
        _in(LEITWEG, "DE"),
        "xrechnung",
        "xrechnung",
        "DE's policy is XRechnung",
    ),
    (
        "auto in an XRechnung country without a buyer reference",
        "auto",
        "xrechnung",
        _in(BARE, "DE"),
        "facturx",
        "xrechnung",
        "XRechnung needs the buyer's buyer_reference (its Leitweg-ID); sent as Factur-X",
    ),
    # facturx: needs nothing more, wherever asked
    (
        "Factur-X asked in a country without a policy",
        "facturx",
        "none",
        _in(BARE, "US"),
        "facturx",
        "facturx",
        "the account asks for Factur-X",
    ),
    (
        "Factur-X asked in a UBL country",
        "facturx",
        "ubl",
        _in(BARE, "BE"),
        "facturx",
        "facturx",
        "the account asks for Factur-X",
    ),
    # ubl: needs the buyer's Peppol id (BT-49)
    (
        "UBL asked in Germany with a Peppol id",
        "ubl",
        "facturx",
        _in(PEPPOL, "DE"),
        "ubl",
        "ubl",
        "the account asks for UBL (Peppol)",
    ),
    (
        "UBL asked in France without a Peppol id",
        "ubl",
        "facturx",
        _in(BARE, "FR"),
        "facturx",
        "ubl",
        "UBL (Peppol) needs the buyer's peppol_id; sent as Factur-X",
    ),
    (
        "UBL asked in Belgium without a Peppol id",
        "ubl",
        "ubl",
        _in(BARE, "BE"),
        "none",
        "ubl",
        "UBL (Peppol) needs the buyer's peppol_id; sent as the PDF alone",
    ),
    (
        "UBL asked in a country without a policy, without a Peppol id",
        "ubl",
        "none",
        _in(BARE, "US"),
        "none",
        "ubl",
        "UBL (Peppol) needs the buyer's peppol_id; sent as the PDF alone",
    ),
    # xrechnung: needs the buyer reference (BT-10) and the buyer's city and post code (BR-DE-8, 9)
    (
        "XRechnung asked in Germany with what it needs",
        "xrechnung",
        "facturx",
        _in(LEITWEG, "DE"),
        "xrechnung",
        "xrechnung",
        "the account asks for XRechnung",
    ),
    (
        "XRechnung asked in Germany without a buyer reference",
        "xrechnung",
        "facturx",
        _in(replace(LEITWEG, buyer_reference=None), "DE"),
        "facturx",
        "xrechnung",
        "XRechnung needs the buyer's buyer_reference (its Leitweg-ID); sent as Factur-X",
    ),
    (
        "XRechnung asked in Germany without an address",
        "xrechnung",
        "facturx",
        _in(replace(LEITWEG, address=None), "DE"),
        "facturx",
        "xrechnung",
        "XRechnung needs the buyer's address with its city and postal_code; sent as Factur-X",
    ),
    (
        "XRechnung asked in Germany with an address without a postal code",
        "xrechnung",
        "facturx",
        _in(replace(LEITWEG, address=replace(BERLIN, postal_code=None)), "DE"),
        "facturx",
        "xrechnung",
        "XRechnung needs the buyer's address with its city and postal_code; sent as Factur-X",
    ),
    (
        "XRechnung asked in the Netherlands without a buyer reference",
        "xrechnung",
        "ubl",
        _in(BARE, "NL"),
        "none",
        "xrechnung",
        "XRechnung needs the buyer's buyer_reference (its Leitweg-ID); sent as the PDF alone",
    ),
    # none: the PDF alone, even where the country has a policy
    (
        "no e-invoice asked in Germany",
        "none",
        "facturx",
        _in(LEITWEG, "DE"),
        "none",
        "none",
        "the account asks for no e-invoice: the PDF alone",
    ),
]


@pytest.mark.parametrize(
    ("case", "account_policy", "country_policy", "account", "format_", "asked", "reason"),
    ROWS,
    ids=[row[0] for row in ROWS],
)
def test_the_e_invoice_follows_the_policy_table(case, account_policy, country_policy, account, format_, asked, reason):
    # Given an account asking for `account_policy` in a country whose policy is `country_policy`
    # When the worker decides its e-invoice
    choice = decide(account_policy, country_policy, account)
    # Then it is the format of the table, asked as the table says, with its reason
    assert choice == EinvoiceChoice(format_, reason, asked)
    # And it fell back exactly when a field the asked format needs was missing
    assert choice.fell_back == ("needs" in reason)


def test_a_fallback_names_the_field_to_add_and_what_was_sent_instead():
    # Given a French account asking for UBL but sending no Peppol id
    choice = decide("ubl", "facturx", _in(BARE, "FR"))
    # Then the operator reads what to add and what went instead
    assert choice.reason == "UBL (Peppol) needs the buyer's peppol_id; sent as Factur-X"
    # And once the account has its Peppol id, UBL goes
    assert decide("ubl", "facturx", _in(PEPPOL, "FR")).format == "ubl"


@pytest.mark.parametrize(
    ("account_policy", "country_policy", "says"),
    [("pdf", "facturx", "unknown e-invoice choice 'pdf'"), ("auto", "zugferd", "unknown e-invoice policy 'zugferd'")],
)
def test_an_unknown_policy_is_refused_naming_it(account_policy, country_policy, says):
    with pytest.raises(ValueError, match=says):
        decide(account_policy, country_policy, BARE)


def test_the_contract_offers_exactly_the_choices_the_policy_decides():
    # Given the values account.updated's einvoice may hold, Then each is one decide() knows
    offered = get_args(AccountUpdated.model_fields["einvoice"].annotation)
    assert offered == EINVOICE_CHOICES
    for choice in offered:
        decide(choice, "facturx", BARE)
