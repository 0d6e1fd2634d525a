"""The DKIM signer the settings ask for, built once at start-up (`ServiceContext.from_settings`):
the key file is read here, and a partial or unusable configuration is refused before any work."""

from __future__ import annotations

import logging
from email.utils import parseaddr

from worker.emails.dkim import DkimConfigurationError, DkimSigner
from worker.emails.mime import ascii_domain
from worker.settings import Settings

log = logging.getLogger(__name__)


def dkim_signer(settings: Settings) -> DkimSigner | None:
    """The signer when DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE are all set, None
    when none is.

    Raises:
      DkimConfigurationError: one or two of the three set (naming the missing ones), or the key
        file unreadable or not a usable key. The key's content is never in the message.
    """
    given = {
        "DKIM_DOMAIN": settings.dkim_domain,
        "DKIM_SELECTOR": settings.dkim_selector,
        "DKIM_PRIVATE_KEY_FILE": settings.dkim_private_key_file,
    }
    missing = [name for name, value in given.items() if not value]
    if len(missing) == len(given):
        return None
    if missing:
        have = ", ".join(name for name in given if name not in missing)
        raise DkimConfigurationError(
            f"DKIM is half configured: {have} set, but not {', '.join(missing)}; set all three to sign, or none"
        )
    assert settings.dkim_domain and settings.dkim_selector and settings.dkim_private_key_file
    path = settings.dkim_private_key_file
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise DkimConfigurationError(
            f"DKIM_PRIVATE_KEY_FILE {path}: cannot read it ({exc.strerror or type(exc).__name__})"
        ) from None
    signer = DkimSigner.from_pem(
        ascii_domain(settings.dkim_domain.strip()),
        settings.dkim_selector.strip(),
        pem,
        source=f"DKIM_PRIVATE_KEY_FILE {path}",
    )
    from_domain = ascii_domain(parseaddr(settings.mail_from)[1].rpartition("@")[2]).lower()
    if not aligned(signer.domain, from_domain):
        log.warning(
            "DKIM_DOMAIN %s is not MAIL_FROM's domain %s nor a parent or subdomain of it: receivers "
            "checking DMARC will not count this signature for the From domain (README, Deliverability)",
            signer.domain,
            from_domain,
        )
    return signer


def aligned(dkim_domain: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment, approximated without the public suffix list: the same domain,
    or one a subdomain of the other (`billing.example.com` and `example.com`)."""
    d, f = dkim_domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    return d == f or f.endswith("." + d) or d.endswith("." + f)
