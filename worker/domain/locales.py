"""The supported locales and the choice of one for a recipient (pure: no I/O but a log line)."""

from __future__ import annotations

import logging
import re
from functools import cache

import babel
from babel import localedata
from babel.core import get_global

log = logging.getLogger(__name__)

#: The gettext catalogs (``locales/<name>/LC_MESSAGES/messages.po``), each with the locale that
#: stands for it where only the language is known ("fr" -> fr-FR). A catalog is the *language*
#: of an email; the *formats* (amounts, dates, numbers) follow the recipient's own CLDR locale
#: (:func:`choose_locale`), so a Swiss reader gets German text with Swiss formats. A region gets a
#: catalog of its own only where its text differs (American vs British English, Brazilian vs
#: European Portuguese, Latin American Spanish, Canadian French, simplified vs traditional Chinese).
CATALOGS: dict[str, str] = {
    "en_US": "en-US", "en": "en-GB",
    "nl": "nl-NL",
    "de": "de-DE",
    "fr": "fr-FR", "fr_CA": "fr-CA",
    "es": "es-ES", "es_419": "es-419",
    "it": "it-IT",
    "pt_BR": "pt-BR", "pt_PT": "pt-PT",
    "ja": "ja-JP",
    "zh_CN": "zh-CN", "zh_TW": "zh-TW",
    "ko": "ko-KR",
    "ar": "ar",
    "he": "he-IL",
    "tr": "tr-TR",
    "pl": "pl-PL",
    "cs": "cs-CZ",
    "sv": "sv-SE",
    "da": "da-DK",
    "nb": "nb-NO",
    "fi": "fi-FI",
    "th": "th-TH",
    "id": "id-ID",
}  # fmt: skip

#: Every locale the gallery, the tests and the catalog checks render: each catalog's own locale,
#: then locales whose formats differ from it (Belgian Dutch and French, Mexican and Argentinian
#: Spanish, Indian and Australian English, Swiss German, French and Italian, Austrian German,
#: Hong Kong Chinese). Any other CLDR locale of a catalog's language renders too.
SUPPORTED_LOCALES: tuple[str, ...] = (
    *CATALOGS.values(),
    "nl-BE", "fr-BE", "es-MX", "es-AR", "en-IN", "en-AU", "de-CH", "fr-CH", "it-CH", "de-AT", "zh-HK",
)  # fmt: skip

#: The locale used when neither the contact nor the country gives a language with a catalog and
#: the country is unknown (with a country: English in its region, see :func:`choose_locale`).
DEFAULT_LOCALE = "en-US"

#: International English (CLDR's en-001: "1 February 2026", "€1,234.56"), for a country of no
#: English locale of its own whose language has no catalog.
INTERNATIONAL_ENGLISH = "en-001"

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
    """The locale to write to a contact in: a CLDR locale whose language has a catalog.

    ``contact_locale`` is the contact's preference, ``country_default`` the default locale of the
    account's country (e.g. ``de-CH``). The first that applies: the contact's locale (``en-IN``
    stays en-IN: British-English text, Indian formats); the contact's language in the country's
    region (``fr`` at a Canadian account -> fr-CA); the contact's language in its catalog's own
    locale (``fr`` -> fr-FR); the country's default; English in the country's region (en-HU) or
    international English (en-001); :data:`DEFAULT_LOCALE`. A traditional-Chinese reader is never
    given simplified Chinese, nor the reverse. When the locale asked for (the contact's, else the
    country's) is not the one chosen, a warning is logged once per (asked, chosen) pair per process.
    """
    chosen = _choose_locale(normalize_locale(contact_locale), normalize_locale(country_default))
    asked = (contact_locale or "").strip() or (country_default or "").strip()
    if asked and normalize_locale(asked) != chosen and not _same_language(normalize_locale(asked), chosen):
        _log_fallback_once(asked, chosen)
    return chosen


def _choose_locale(contact: str | None, country: str | None) -> str:
    region = _region(country) if country else None
    for asked in (contact, country):
        if asked is None or catalog_for(asked) is None:
            continue
        if _known(asked) and _region(asked) is not None:
            return asked
        in_region = f"{asked}-{region}" if region and _region(asked) is None else None
        if in_region and _known(in_region) and _written_language(in_region) == _written_language(asked):
            return in_region
        if _known(asked) and _region(asked) is None and asked in CATALOGS.values():
            return asked
        return CATALOGS[catalog_for(asked)]  # type: ignore[index]
    if region is not None:
        english = f"en-{region}"
        return english if _known(english) else INTERNATIONAL_ENGLISH
    return DEFAULT_LOCALE


def _same_language(asked: str | None, chosen: str) -> bool:
    """The same written language in another region ("fr" -> fr-CA): no fallback worth a warning."""
    return asked is not None and _written_language(asked) == _written_language(chosen)


def _known(locale: str) -> bool:
    try:
        babel_locale(locale)
    except ValueError:
        return False
    return True


# Regions that write Chinese in traditional characters: a reader there must not be sent zh-CN.
_TRADITIONAL_CHINESE_REGIONS = frozenset({"TW", "HK", "MO"})

#: English regions whose CLDR parent is not international English (en-001): American English.
_AMERICAN_ENGLISH = frozenset({None, "US", "AS", "GU", "MH", "MP", "PH", "PR", "UM", "VI"})


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
    log.warning("locale %r is not available; writing in %r instead", asked, chosen)


@cache
def catalog_for(locale: str) -> str | None:
    """The catalog of ``locale``'s language, following CLDR's parent locales (es-AR -> es_419,
    pt-AO -> pt_PT, en-IN -> en via en-001, zh-HK -> zh_TW), or None when there is none."""
    normalized = normalize_locale(locale)
    if normalized is None:
        return None
    language, region = _language(normalized), _region(normalized)
    if language == "zh":
        return "zh_TW" if _written_language(normalized) == "zh-Hant" else "zh_CN"
    if language == "en":
        return "en_US" if region in _AMERICAN_ENGLISH or not _cldr_parent_is_international(normalized) else "en"
    if language == "pt" and region is None:
        return "pt_BR"  # CLDR's "pt" is Brazilian Portuguese
    if region is not None:
        tag = f"{language}_{region}"
        for name in (tag, _PARENT_LOCALES.get(tag)):
            if name in CATALOGS:
                return name
    return language if language in CATALOGS else None


def renderable(locale: str) -> bool:
    """Whether an email can be written in ``locale``: spelled canonically, known to CLDR, and of a
    language with a catalog."""
    return normalize_locale(locale) == locale and _known(locale) and catalog_for(locale) is not None


def catalog_language(locale: str) -> str:
    """The catalog name for ``locale`` (``nl-BE`` -> ``nl``, ``es-AR`` -> ``es_419``); raises
    ``ValueError`` for a locale whose language has no catalog."""
    name = catalog_for(locale)
    if name is None:
        raise ValueError(f"no catalog for locale {locale!r}; catalogs: {', '.join(CATALOGS)}")
    return name


#: CLDR's parent locales (es-AR -> es-419, pt-AO -> pt-PT, en-IN -> en-001), from Babel's data.
_PARENT_LOCALES: dict[str, str] = dict(get_global("parent_exceptions"))


def _cldr_parent_is_international(locale: str) -> bool:
    tag = "_".join(part for part in (_language(locale), _region(locale)) if part)
    if tag == "en_001":
        return True
    seen = set()
    while tag in _PARENT_LOCALES and tag not in seen:
        seen.add(tag)
        tag = _PARENT_LOCALES[tag]
        if tag == "en_001":
            return True
    return False


@cache
def babel_locale(locale: str) -> babel.Locale:
    """Return the Babel (CLDR) locale for ``locale``.

    Raises ``ValueError`` (Babel's ``UnknownLocaleError`` included) for a tag CLDR does not know.
    """
    normalized = normalize_locale(locale)
    if normalized is None:
        raise ValueError(f"not a locale tag: {locale!r}")
    try:
        parsed = babel.Locale.parse(normalized, sep="-")
    except babel.UnknownLocaleError as exc:
        raise ValueError(f"unknown locale: {locale!r}") from exc
    localedata.load(str(parsed))
    _trim_cldr_data()
    return parsed


#: What Babel loads of a locale's CLDR data and nothing here formats with: the names of
#: languages, territories, scripts and time zones, unit and compact-number patterns, relative-date
#: fields, intervals. Measured (2026-12-07, Babel 2.19): the 37 supported locales and their parents
#: held 28 MB in a worker, 6 MB without these. Currency names stay: Babel's currency pattern looks
#: them up even when the pattern does not show them. Reading a dropped one afterwards
#: (`Locale.territories`, ...) raises KeyError; a locale Babel loads later without this function
#: would see only its own entries of them, so code here gets its locales from `babel_locale`.
UNUSED_CLDR_DATA = frozenset(
    {
        "languages",
        "territories",
        "scripts",
        "variants",
        "time_zones",
        "meta_zones",
        "zone_formats",
        "unit_patterns",
        "unit_display_names",
        "compound_unit_patterns",
        "compact_decimal_formats",
        "compact_currency_formats",
        "date_fields",
        "interval_formats",
        "list_patterns",
        "measurement_systems",
        "character_labels",
    }
)
_trimmed_cldr: set[str] = set()


def _trim_cldr_data() -> None:
    """Drops UNUSED_CLDR_DATA from every locale Babel has loaded so far (a child's data shares its
    parents' dicts, so the parents too). Babel keeps each locale's data in the process-wide cache
    its `load` returns from; a locked Babel release keeps that layout (a test formats every
    supported locale after the trim)."""
    for name, data in list(localedata._cache.items()):  # Babel's own cache of load()
        if name not in _trimmed_cldr:
            for key in UNUSED_CLDR_DATA:
                data.pop(key, None)
            _trimmed_cldr.add(name)
