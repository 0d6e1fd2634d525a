"""The supported locales and the choice of one for a recipient (pure: no I/O)."""

from __future__ import annotations

import re
from functools import lru_cache

import babel

#: Every locale an email can be rendered in, as BCP 47 tags (``ll-RR``). The first locale of a
#: language is the one used when only the language matches.
SUPPORTED_LOCALES: tuple[str, ...] = ("en-US", "en-GB", "nl-NL", "nl-BE")

#: The locale used when neither the contact nor the country gives a supported one.
DEFAULT_LOCALE = "en-US"

#: Locales whose gettext catalog differs by region (Brazilian vs European Portuguese, simplified
#: vs traditional Chinese); every other locale shares one catalog per language.
REGIONAL_CATALOG_LOCALES: frozenset[str] = frozenset({"pt-BR", "pt-PT", "zh-CN", "zh-TW"})

# language, optional 4-letter script, optional 2-letter or 3-digit region, in any case, with
# "-" or "_" between the parts ("nl_NL", "nl-nl", "zh-Hant-TW").
_TAG = re.compile(
    r"^(?P<language>[a-z]{2,3})(?:[-_](?P<script>[a-z]{4}))?(?:[-_](?P<region>[a-z]{2}|\d{3}))?$",
    re.IGNORECASE,
)


def normalize_locale(tag: str | None) -> str | None:
    """Return ``tag`` spelled ``ll-RR`` (``nl_nl`` -> ``nl-NL``), or None if it is no locale tag."""
    match = _TAG.match((tag or "").strip())
    if match is None:
        return None
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts)


def _language(locale: str) -> str:
    return locale.split("-", 1)[0]


def _region(locale: str) -> str | None:
    last = locale.rsplit("-", 1)[-1]
    return last if last != locale and (last.isupper() or last.isdigit()) else None


def choose_locale(contact_locale: str | None, country_default: str | None) -> str:
    """Pick the supported locale to write to a contact in.

    ``contact_locale`` is the contact's preference, ``country_default`` the default locale of the
    account's country (e.g. ``nl-BE``). Preference order: the contact's locale; the contact's
    language in the country's region; the contact's language in any region; the country default;
    :data:`DEFAULT_LOCALE`.
    """
    contact = normalize_locale(contact_locale)
    country = normalize_locale(country_default)
    if contact in SUPPORTED_LOCALES:
        return contact
    if contact is not None:
        language = _language(contact)
        region = _region(country) if country else None
        if region is not None and f"{language}-{region}" in SUPPORTED_LOCALES:
            return f"{language}-{region}"
        same_language = [loc for loc in SUPPORTED_LOCALES if _language(loc) == language]
        if same_language:
            return same_language[0]
    if country in SUPPORTED_LOCALES:
        return country
    return DEFAULT_LOCALE


def catalog_language(locale: str) -> str:
    """Return the gettext catalog name for ``locale``: ``nl-BE`` -> ``nl``, ``pt-BR`` -> ``pt_BR``."""
    normalized = normalize_locale(locale) or locale
    if normalized in REGIONAL_CATALOG_LOCALES:
        return normalized.replace("-", "_")
    return _language(normalized)


@lru_cache(maxsize=None)
def babel_locale(locale: str) -> babel.Locale:
    """Return the Babel (CLDR) locale for ``locale``.

    Raises ``ValueError`` (Babel's ``UnknownLocaleError`` included) for a tag CLDR does not know.
    """
    normalized = normalize_locale(locale)
    if normalized is None:
        raise ValueError(f"not a locale tag: {locale!r}")
    try:
        return babel.Locale.parse(normalized, sep="-")
    except babel.UnknownLocaleError as exc:
        raise ValueError(f"unknown locale: {locale!r}") from exc
