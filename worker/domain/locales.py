"""The supported locales and the choice of one for a recipient (pure: no I/O but a log line)."""

from __future__ import annotations

import logging
import re
from functools import cache

import babel

log = logging.getLogger(__name__)

#: Every locale an email can be rendered in, as BCP 47 tags (``ll-RR``, or ``ll`` where CLDR's
#: default region is meant). The first locale of a language is the one used when only the
#: language matches. Tests, the preview gallery and the catalog checks all derive from this list;
#: adding a locale is described in the README ("Supported locales").
SUPPORTED_LOCALES: tuple[str, ...] = (
    "en-US", "en-GB",
    "nl-NL", "nl-BE",
    "de-DE",
    "fr-FR", "fr-BE",
    "es-ES", "es-MX",
    "it-IT",
    "pt-BR",
    "ja-JP",
    "zh-CN",
    "ko-KR",
    "ar",
)  # fmt: skip

#: The locale used when neither the contact nor the country gives a supported one.
DEFAULT_LOCALE = "en-US"

#: Locales whose gettext catalog differs by region (Brazilian vs European Portuguese, simplified
#: vs traditional Chinese); every other locale shares one catalog per language.
REGIONAL_CATALOG_LOCALES: frozenset[str] = frozenset({"pt-BR", "pt-PT", "zh-CN", "zh-TW"})

#: Deprecated and macro-language codes as CLDR aliases them: Hebrew's old "iw", Indonesian's "in",
#: Yiddish's "ji", and Norwegian "no", written as Bokmål ("nb").
LANGUAGE_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "no": "nb"}

_LANGUAGE = re.compile(r"[a-z]{2,3}", re.IGNORECASE)
_SCRIPT = re.compile(r"[a-z]{4}", re.IGNORECASE)
_REGION = re.compile(r"[a-z]{2}|\d{3}", re.IGNORECASE)
# After the region a BCP 47 tag may carry variants ("de-DE-1996") and extensions
# ("en-US-u-ca-buddhist"): they say nothing the worker uses, so they are dropped.
_VARIANT = re.compile(r"[a-z0-9]{5,8}|\d[a-z0-9]{3}", re.IGNORECASE)
_SUBTAG = re.compile(r"[a-z0-9]{1,8}", re.IGNORECASE)


def normalize_locale(tag: str | None) -> str | None:
    """Return ``tag`` spelled ``ll-RR`` (``nl_nl`` -> ``nl-NL``, ``ja_JP.UTF-8`` -> ``ja-JP``,
    ``de-DE-1996`` -> ``de-DE``, ``iw-IL`` -> ``he-IL``), or None if it is no locale tag."""
    # A POSIX locale's codeset and modifier ("ja_JP.UTF-8", "de_DE@euro") are not part of it.
    text = (tag or "").strip().split(".", 1)[0].split("@", 1)[0]
    parts = re.split(r"[-_]", text)
    if not _LANGUAGE.fullmatch(parts[0]):
        return None
    language = parts[0].lower()
    out = [LANGUAGE_ALIASES.get(language, language)]
    rest = parts[1:]
    if rest and _SCRIPT.fullmatch(rest[0]):
        out.append(rest.pop(0).title())
    if rest and _REGION.fullmatch(rest[0]):
        out.append(rest.pop(0).upper())
    if rest:
        first = rest[0]
        starts_well = bool(_VARIANT.fullmatch(first)) or (len(first) == 1 and first.isalnum())
        if not starts_well or not all(_SUBTAG.fullmatch(part) for part in rest):
            return None
    return "-".join(out)


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
    the country default's language in any region; :data:`DEFAULT_LOCALE`. When the locale asked
    for (the contact's, else the country's) is not the one chosen, a warning is logged once per
    (asked, chosen) pair per process.
    """
    chosen = _choose_locale(normalize_locale(contact_locale), normalize_locale(country_default))
    asked = (contact_locale or "").strip() or (country_default or "").strip()
    if asked and normalize_locale(asked) != chosen:
        _log_fallback_once(asked, chosen)
    return chosen


def _choose_locale(contact: str | None, country: str | None) -> str:
    if contact in SUPPORTED_LOCALES:
        return contact
    if contact is not None:
        region = _region(country) if country else None
        in_region = f"{_language(contact)}-{region}" if region is not None else None
        # ... in the same script: a zh-TW reader at a Chinese account is not written zh-CN.
        if in_region in SUPPORTED_LOCALES and _written_language(in_region) == _written_language(contact):
            return in_region
        same_language = _first_of_language(contact)
        if same_language is not None:
            return same_language
        if country is not None and _other_script(contact, country):
            # A traditional-Chinese reader is never written to in simplified Chinese (nor the
            # reverse): without a catalog in their script, the default locale.
            return DEFAULT_LOCALE
    if country in SUPPORTED_LOCALES:
        return country
    if country is not None:
        same_language = _first_of_language(country)
        if same_language is not None:
            return same_language
    return DEFAULT_LOCALE


def _other_script(contact: str, country: str) -> bool:
    """The same language written in another script (zh-Hant against zh-Hans)."""
    return _language(contact) == _language(country) and _written_language(contact) != _written_language(country)


def _first_of_language(locale: str) -> str | None:
    written = _written_language(locale)
    return next((loc for loc in SUPPORTED_LOCALES if _written_language(loc) == written), None)


# Regions that write Chinese in traditional characters: a reader there must not be sent zh-CN.
_TRADITIONAL_CHINESE_REGIONS = frozenset({"TW", "HK", "MO"})


def _written_language(locale: str) -> str:
    """The language as written: ``zh`` splits into simplified and traditional script."""
    language = _language(locale)
    if language != "zh":
        return language
    if "-Hans" in locale:  # a script stated wins over the region ("zh-Hans-TW" reads simplified)
        return "zh-Hans"
    traditional = "-Hant" in locale or _region(locale) in _TRADITIONAL_CHINESE_REGIONS
    return "zh-Hant" if traditional else "zh-Hans"


# Each fallback is worth one warning per process, not one per email: a run may send thousands.
# (Two threads asking at the same instant may both log it: harmless, and no lock in the core.)
@cache
def _log_fallback_once(asked: str, chosen: str) -> None:
    log.warning("locale %r is not supported; writing in %r instead", asked, chosen)


def catalog_language(locale: str) -> str:
    """Return the gettext catalog name for ``locale``: ``nl-BE`` -> ``nl``, ``pt-BR`` -> ``pt_BR``."""
    normalized = normalize_locale(locale) or locale
    if normalized in REGIONAL_CATALOG_LOCALES:
        return normalized.replace("-", "_")
    return _language(normalized)


@cache
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
