"""How every delivery is addressed (worker/services/deliveries.py): the kind's recipient rule,
the addressee's locale else the country's, and each recipient's first state."""

from __future__ import annotations

import pytest

from worker.domain.delivery import Outcome, RecipientState
from worker.domain.model import Account, Contact, Recipients
from worker.emails.kinds import CARD_FAILED, INVOICE, REWARDS_CODE
from worker.services.deliveries import addressing, initial_states, recipients_payload

ELS = Contact("Els de Vries", "els@acme.example", "nl-NL")
NO_LOCALE = Contact("Jan Jansen", "jan@acme.example")
DUNNING = Contact("Accounts Receivable", "ar@acme.example")
RELATIONSHIP = Contact("Piet Pieters", "piet@acme.example")
ACCOUNT = Account("A-100", "Acme GmbH", "DE", "commercial", dunning=DUNNING, account_relationship=RELATIONSHIP)


def test_the_stored_recipients_and_first_states_keep_their_format() -> None:
    recipients = Recipients(to=(ELS,), cc=(DUNNING,))
    assert recipients_payload(recipients) == {
        "to": [{"name": "Els de Vries", "email": "els@acme.example"}],
        "cc": [{"name": "Accounts Receivable", "email": "ar@acme.example"}],
    }
    assert list(recipients_payload(Recipients(to=(ELS,)))) == ["to", "cc"]
    assert initial_states(recipients) == {
        "els@acme.example": RecipientState(address="els@acme.example", role="to"),
        "ar@acme.example": RecipientState(address="ar@acme.example", role="cc"),
    }
    assert all(s.state == Outcome.PENDING for s in initial_states(recipients).values())


def test_the_kind_names_the_recipients() -> None:
    assert addressing(INVOICE, ELS, ACCOUNT).recipients == Recipients(to=(ELS,), cc=(DUNNING, RELATIONSHIP))
    assert addressing(CARD_FAILED, ELS, ACCOUNT).recipients == Recipients(to=(ELS,), cc=(DUNNING,))
    address = addressing(REWARDS_CODE, ELS, ACCOUNT)
    assert address.recipients == Recipients(to=(ELS,))
    assert address.payload == {"to": [{"name": "Els de Vries", "email": "els@acme.example"}], "cc": []}
    assert list(address.states) == ["els@acme.example"]


@pytest.mark.parametrize(
    ("to", "account", "fallback_country", "locale"),
    [
        (ELS, ACCOUNT, None, "nl-NL"),  # the addressee's own locale first
        (NO_LOCALE, ACCOUNT, None, "de-DE"),  # else the account's country's
        (NO_LOCALE, ACCOUNT, "NL", "de-DE"),  # the account wins over the fallback
        (NO_LOCALE, None, "NL", "nl-NL"),  # no account: the fallback country's
        (NO_LOCALE, None, None, "en-US"),  # nothing known: the default
    ],
)
def test_the_locale_is_the_addressees_else_the_countrys(
    to: Contact, account: Account | None, fallback_country: str | None, locale: str
) -> None:
    assert addressing(CARD_FAILED, to, account, fallback_country=fallback_country).locale == locale


def test_an_unknown_kind_cannot_be_addressed() -> None:
    with pytest.raises(LookupError, match="unknown email kind"):
        addressing("no_such_kind", ELS, ACCOUNT)
