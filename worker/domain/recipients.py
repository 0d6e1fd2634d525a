"""Who receives an email (DOMAIN.md section 1). Pure."""

from __future__ import annotations

from worker.domain.model import Account, Contact, Recipients


def resolve_recipients(billing_contact: Contact, account: Account | None) -> Recipients:
    """To the billing contact; Cc the account's dunning and account-relationship contacts.

    An address appears once (compared case-insensitively), To winning over Cc.
    """
    seen = {billing_contact.email.casefold()}
    cc = []
    if account is not None:
        for contact in (account.dunning, account.account_relationship):
            if contact is not None and contact.email.casefold() not in seen:
                seen.add(contact.email.casefold())
                cc.append(contact)
    return Recipients(to=(billing_contact,), cc=tuple(cc))


def resolve_dunning_recipients(billing_contact: Contact, account: Account | None) -> Recipients:
    """To the billing contact; Cc only the account's dunning (collections) contact, if any and
    not the same address (a failed payment is the collections team's business, DOMAIN.md 4)."""
    dunning = account.dunning if account is not None else None
    if dunning is None or dunning.email.casefold() == billing_contact.email.casefold():
        return Recipients(to=(billing_contact,))
    return Recipients(to=(billing_contact,), cc=(dunning,))


def addressee_only(addressee: Contact, account: Account | None) -> Recipients:
    """To the addressee alone, nobody in Cc: for what is the addressee's own business (a rewards
    code is a secret, DOMAIN.md 5; a redemption confirmation; a bounce notice to one contact)."""
    return Recipients(to=(addressee,))
