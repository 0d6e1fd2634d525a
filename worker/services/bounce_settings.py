"""Bounce-related values derived from the settings, in one place (used by sending, the bounce
listener and `run`'s start-up check)."""

from __future__ import annotations

from email.utils import parseaddr

from worker.emails.mime import ascii_domain
from worker.errors import UnsafeBounceConfiguration
from worker.settings import Settings


def bounce_secret(settings: Settings) -> bytes | None:
    """The VERP HMAC key, or None when VERP is off."""
    if settings.bounce_secret is None or not settings.bounce_secret.get_secret_value():
        return None
    return settings.bounce_secret.get_secret_value().encode()


def bounce_domain(settings: Settings) -> str:
    domain = settings.bounce_domain or parseaddr(settings.mail_from)[1].rpartition("@")[2]
    return ascii_domain(domain or "invoice-worker.invalid")


def check_bounce_settings(settings: Settings) -> None:
    """Refuse a bounce listener without a secret: it could not tell real bounces from forged ones.

    Raises:
      UnsafeBounceConfiguration
    """
    if settings.bounces_port is not None and bounce_secret(settings) is None:
        raise UnsafeBounceConfiguration(
            "BOUNCES_PORT is set but BOUNCE_SECRET is not: set BOUNCE_SECRET to a long random value "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
