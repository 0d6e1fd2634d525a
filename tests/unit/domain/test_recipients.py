"""Who gets an invoice: To the billing contact, Cc the account-level contacts, each address once."""

from __future__ import annotations

from worker.domain.model import Account, Contact
from worker.domain.recipients import addressee_only, resolve_recipients

BILLING = Contact("Els de Vries", "els@acme.example", "nl-NL")


def account(dunning: Contact | None, relationship: Contact | None) -> Account:
    return Account("A-1", "Acme", "NL", "commercial", dunning=dunning, account_relationship=relationship)


def test_billing_contact_to_dunning_and_relationship_cc():
    r = resolve_recipients(BILLING, account(Contact("AR", "ar@acme.example"), Contact("Jan", "jan@acme.example")))
    assert [c.email for c in r.to] == ["els@acme.example"]
    assert [c.email for c in r.cc] == ["ar@acme.example", "jan@acme.example"]
    assert r.envelope == ("els@acme.example", "ar@acme.example", "jan@acme.example")


def test_an_address_appears_once_compared_case_insensitively():
    r = resolve_recipients(BILLING, account(Contact("Els", "ELS@Acme.example"), Contact("AR", "ar@acme.example")))
    assert r.envelope == ("els@acme.example", "ar@acme.example")
    r = resolve_recipients(BILLING, account(Contact("AR", "ar@acme.example"), Contact("AR2", "AR@acme.example")))
    assert r.envelope == ("els@acme.example", "ar@acme.example")


def test_missing_account_contacts_mean_no_cc():
    assert resolve_recipients(BILLING, account(None, None)).cc == ()
    assert resolve_recipients(BILLING, None).cc == ()


def test_a_secret_or_personal_email_goes_to_its_addressee_alone_whatever_the_account_has():
    # Given an account with dunning and relationship contacts
    with_contacts = account(Contact("AR", "ar@acme.example"), Contact("Jan", "jan@acme.example"))
    # When an email is addressed to the addressee alone (a rewards code, say), then nobody is copied
    r = addressee_only(BILLING, with_contacts)
    assert r.envelope == ("els@acme.example",) and r.cc == ()
