"""An account snapshot as Redis keeps it: deflated JSON after a marker, read back as the same
account, and JSON of before still readable."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import TypeAdapter

from worker.domain.model import Account, Address, Contact
from worker.store import account_records

_JSON = TypeAdapter(Account)

SMALL = Account(
    "A-100",
    "Acme B.V.",
    "NL",
    "commercial",
    dunning=Contact("Debiteuren", "ar@acme.example"),
    account_relationship=Contact("Jan Jansen", "jan@acme.example"),
)
FULL = Account(
    "A-7",
    "Müller Cloud",
    "DE",
    "public",
    ula=True,
    dunning=Contact("Buchhaltung", "rechnung@mueller.example", "de-DE"),
    legal_name="Müller Cloud GmbH",
    address=Address(("Hauptstraße 1", "2. OG"), "Berlin", "DE", "10115"),
    vat_id="DE123456788",
    buyer_reference="04011000-12345-67",
    peppol_id="0204:04011000-12345-67",
    einvoice="xrechnung",
)


@pytest.mark.parametrize("account", [SMALL, FULL], ids=["contacts only", "with address and e-invoice ids"])
def test_an_account_reads_back_equal_at_under_half_its_json(account):
    # When an account snapshot is kept as a record
    record = account_records.encode(account)
    # Then it reads back equal, and takes under half its JSON
    assert account_records.decode(record) == account
    assert record.startswith(b"a1") and len(record) * 2 < len(_JSON.dump_json(account))


def test_an_account_kept_as_json_before_records_reads_back():
    assert account_records.decode(_JSON.dump_json(FULL)) == FULL


def test_the_dictionary_of_a1_records_never_changes():
    assert account_records.MARKER == b"a1"
    assert hashlib.sha256(account_records.DICTIONARY).hexdigest()[:16] == "e84aba3a7fb9a735"
