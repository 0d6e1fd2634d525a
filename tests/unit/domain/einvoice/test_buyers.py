"""The buyer of an account: the optional `account.updated` document fields, as EN 16931 names them."""

from __future__ import annotations

from worker.domain.einvoice.buyers import buyer_of
from worker.domain.einvoice.model import Address, Buyer, ElectronicAddress
from worker.domain.model import Account
from worker.domain.model import Address as AccountAddress


def test_an_account_with_every_document_field_is_a_complete_buyer() -> None:
    # Given an account that sent its legal name, address, VAT id, buyer reference and Peppol id
    account = Account(
        account_id="A-100",
        name="Acme",
        country="NL",
        sector="commercial",
        legal_name="Acme B.V.",
        address=AccountAddress(lines=("Stationsplein 1",), city="Utrecht", country="NL", postal_code="3511 ED"),
        vat_id="NL820345015B01",
        buyer_reference="AP-4711",
        peppol_id="0106:12345678",
    )
    # When it becomes the buyer
    buyer = buyer_of(account)
    # Then every field is the BT it names
    assert buyer == Buyer(
        legal_name="Acme B.V.",
        address=Address(lines=("Stationsplein 1",), city="Utrecht", country="NL", postal_code="3511 ED"),
        vat_id="NL820345015B01",
        buyer_reference="AP-4711",
        electronic_address=ElectronicAddress(scheme="0106", identifier="12345678"),
    )


def test_an_account_without_document_fields_is_its_name_alone() -> None:
    account = Account(account_id="A-1", name="Acme B.V.", country="NL", sector="commercial")

    assert buyer_of(account) == Buyer(legal_name="Acme B.V.", address=None)
