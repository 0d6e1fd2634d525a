"""The buyer of an account: the optional `account.updated` document fields, as EN 16931 names them."""

from __future__ import annotations

from worker.domain.einvoice.buyers import buyer_of, routed_for
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


def test_a_peppol_buyer_without_reference_or_po_is_routed_by_the_order_number() -> None:
    buyer = Buyer(legal_name="Acme B.V.", address=None)
    # Peppol needs BT-10 or BT-13 (PEPPOL-EN16931-R003): the order number stands in
    assert routed_for(buyer, "ubl", po_number=None, order_id="O-1").buyer_reference == "O-1"
    # a PO number, an own reference, or another format: the buyer as it is
    assert routed_for(buyer, "ubl", po_number="PO-77", order_id="O-1") == buyer
    assert routed_for(buyer, "facturx", po_number=None, order_id="O-1") == buyer
