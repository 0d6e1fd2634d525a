"""The DKIM signer the settings ask for, built once at start-up (`ServiceContext.from_settings`):
the key file is read here, and a partial or unusable configuration is refused before any work."""

from __future__ import annotations

from worker.emails.dkim import DkimConfigurationError, DkimSigner
from worker.emails.mime import ascii_domain
from worker.settings import Settings


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
    return DkimSigner.from_pem(
        ascii_domain(settings.dkim_domain.strip()),
        settings.dkim_selector.strip(),
        pem,
        source=f"DKIM_PRIVATE_KEY_FILE {path}",
    )
