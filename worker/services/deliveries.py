"""Create a delivery: one email of one kind to its recipients, in the addressee's locale.

Every delivery is addressed the same way: the kind's recipient rule (`worker.emails.kinds`)
names the To and Cc from the addressee and the account, the locale is the addressee's (else the
country's default), and each recipient starts pending. An invoice's delivery is created by the
settle script, atomically with the invoice, from the same `addressing`; every other one by
`create_delivery`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.data.countries import default_locale
from worker.domain.delivery import RecipientState
from worker.domain.locales import choose_locale
from worker.domain.model import Account, Contact, Recipients
from worker.emails.kinds import kind as email_kind
from worker.services.context import ServiceContext


def recipients_payload(recipients: Recipients) -> dict[str, list[dict[str, str]]]:
    """The stored form of a delivery's recipients: ``{"to": [{name, email}], "cc": [...]}``."""
    return {
        role: [{"name": c.name, "email": c.email} for c in contacts]
        for role, contacts in (("to", recipients.to), ("cc", recipients.cc))
    }


def initial_states(recipients: Recipients) -> dict[str, RecipientState]:
    """Each recipient's first state: pending, with its role."""
    states = {c.email: RecipientState(address=c.email, role="to") for c in recipients.to}
    states.update({c.email: RecipientState(address=c.email, role="cc") for c in recipients.cc})
    return states


@dataclass(frozen=True)
class Addressing:
    """Who receives a delivery and in which locale."""

    recipients: Recipients
    locale: str

    @property
    def payload(self) -> dict[str, list[dict[str, str]]]:
        return recipients_payload(self.recipients)

    @property
    def states(self) -> dict[str, RecipientState]:
        return initial_states(self.recipients)


def addressing(kind: str, to: Contact, account: Account | None, *, fallback_country: str | None = None) -> Addressing:
    """The kind's recipients for addressee `to`, and the locale: `to`'s own, else the default of
    the account's country (of `fallback_country` when there is no account)."""
    country = account.country if account is not None else fallback_country
    return Addressing(email_kind(kind).recipients(to, account), choose_locale(to.locale, default_locale(country)))


async def create_delivery(
    app: ServiceContext,
    kind: str,
    delivery_id: str,
    *,
    key: str,
    to: Contact,
    account: Account | None,
    context: dict[str, Any],
    fallback_country: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Create delivery `delivery_id` of `kind` (once: the same id again has no effect; returns
    whether it was created). `key` names the business record (invoice number, address, ...);
    `context` is stored with it, for the kind's context builder.

    Raises:
      LookupError: `kind` is not a registered email kind.
    """
    address = addressing(kind, to, account, fallback_country=fallback_country)
    return await app.store.deliveries.create_delivery(
        delivery_id,
        kind=kind,
        key=key,
        recipients=address.payload,
        locale=address.locale,
        context=context,
        states=address.states,
        now=now if now is not None else app.clock(),
    )
