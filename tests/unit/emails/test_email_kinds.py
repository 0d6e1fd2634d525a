"""The registry of email kinds (worker/emails/kinds.py): each kind declared once, and the files,
recipients and secrets that go with it."""

from __future__ import annotations

import inspect
import json

import pytest

from tests.support.examples import ELS
from worker.domain.model import Account, Contact
from worker.emails.kinds import (
    BOUNCE_NOTICE,
    CARD_FAILED,
    CREDIT_NOTE,
    INVOICE,
    KINDS,
    OVERDUE_REMINDER,
    PAYMENT_RECEIVED,
    PAYMENT_REMINDER,
    REDEMPTION,
    REWARDS_CODE,
    Loads,
    _email,
    kind,
)
from worker.resources import fixtures_dir, templates_dir

DUNNING = Contact("Accounts Receivable", "ar@acme.example")
RELATIONSHIP = Contact("Jan Jansen", "jan@acme.example")
ACCOUNT = Account("A-100", "Acme B.V.", "NL", "commercial", dunning=DUNNING, account_relationship=RELATIONSHIP)


ALL_KINDS = [
    INVOICE, BOUNCE_NOTICE, CARD_FAILED, REWARDS_CODE, REDEMPTION,
    PAYMENT_RECEIVED, PAYMENT_REMINDER, OVERDUE_REMINDER, CREDIT_NOTE,
]  # fmt: skip


def test_the_nine_kinds_are_registered_under_their_name_constants() -> None:
    assert list(KINDS) == ALL_KINDS
    assert ALL_KINDS == [
        "invoice",
        "bounce_notice",
        "card_failed",
        "rewards_code",
        "redemption",
        "payment_received",
        "payment_reminder",
        "overdue_reminder",
        "credit_note",
    ]
    assert all(k.name == name for name, k in KINDS.items())


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_registered_kind_has_its_templates_and_a_preview_fixture(name: str) -> None:
    email_kind = KINDS[name]
    assert email_kind.template_dir == templates_dir() / name
    for template in ("subject.txt", "body.mjml", "body.txt"):
        assert (email_kind.template_dir / template).is_file(), f"{name}: no {template}"
    assert email_kind.preview_fixture == fixtures_dir() / "preview" / f"{name}.json"
    assert isinstance(json.loads(email_kind.preview_fixture.read_text(encoding="utf-8")), dict)
    # and its preview context names the recipient the preview is addressed to
    assert isinstance(email_kind.preview_context()["recipient"], Contact)


def test_every_template_folder_and_every_preview_fixture_is_a_registered_kind() -> None:
    folders = {p.name for p in templates_dir().iterdir() if p.is_dir() and not p.name.startswith("_")}
    fixtures = {p.stem for p in (fixtures_dir() / "preview").glob("*.json")}
    assert folders == set(KINDS)
    assert fixtures == set(KINDS)


def test_context_builders_receive_data_never_the_store() -> None:
    for email_kind in KINDS.values():
        assert list(inspect.signature(email_kind.build).parameters) in (["fields"], ["data"])
        assert not inspect.iscoroutinefunction(email_kind.build)


def test_each_kind_names_who_receives_it() -> None:
    rules = {name: k.recipients(ELS, ACCOUNT) for name, k in KINDS.items()}
    # invoice: the billing contact, Cc dunning and the account relationship
    assert rules[INVOICE].to == (ELS,) and rules[INVOICE].cc == (DUNNING, RELATIONSHIP)
    # card_failed: the billing contact, Cc dunning only
    assert rules[CARD_FAILED].to == (ELS,) and rules[CARD_FAILED].cc == (DUNNING,)
    # the others: the addressee alone, whatever the account's contacts
    for name in (REWARDS_CODE, REDEMPTION, BOUNCE_NOTICE):
        assert rules[name].to == (ELS,) and rules[name].cc == (), name
    # without an account, nobody is copied
    assert all(k.recipients(ELS, None).cc == () for k in KINDS.values())
    assert all(k.who for k in KINDS.values())


def test_only_the_rewards_code_carries_a_secret_and_it_is_loaded_from_its_sealed_copy() -> None:
    assert {name for name, k in KINDS.items() if k.secret} == {REWARDS_CODE}
    assert KINDS[REWARDS_CODE].loads is Loads.SEALED_CODE
    assert KINDS[INVOICE].loads is Loads.INVOICE
    assert {name for name, k in KINDS.items() if k.loads is Loads.NOTHING} == {
        BOUNCE_NOTICE, CARD_FAILED, REDEMPTION, PAYMENT_RECEIVED,
    }  # fmt: skip
    # The reminders and the credit note load their invoice (the credit note is stored as one)
    assert {name for name, k in KINDS.items() if k.loads is Loads.INVOICE} == {
        INVOICE, PAYMENT_REMINDER, OVERDUE_REMINDER, CREDIT_NOTE,
    }  # fmt: skip
    # The preview renders the fixture's made-up code, never a real one
    assert KINDS[REWARDS_CODE].preview_context()["redemption_code"] == "PREVIEW-0000-EXAMPLE"


def test_delivery_ids_start_with_the_kind() -> None:
    assert kind(INVOICE).delivery_id("INV-0000001") == "invoice:INV-0000001"
    assert kind(CARD_FAILED).delivery_id("evt-1") == "card_failed:evt-1"
    assert kind(REWARDS_CODE).delivery_id("A-100", "2026-01") == "rewards_code:A-100:2026-01"
    assert kind(REDEMPTION).delivery_id("evt-2") == "redemption:evt-2"
    assert (
        kind(BOUNCE_NOTICE).delivery_id("els@acme.example", "ar@acme.example", "1795")
        == "bounce_notice:els@acme.example:ar@acme.example:1795"
    )


def test_an_unknown_kind_is_a_lookup_error_naming_the_known_ones() -> None:
    with pytest.raises(LookupError, match="unknown email kind 'nope'; known: bounce_notice, card_failed"):
        kind("nope")


def test_a_kind_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="email kind 'invoice' declared twice"):
        _email(INVOICE, recipients=KINDS[INVOICE].recipients, who="again")(lambda fields: {})
    assert KINDS[INVOICE].build.__name__ == "invoice_context"
