"""Choosing the locale of an email, and naming its catalog and CLDR data."""

from __future__ import annotations

import babel
import pytest

from worker.locales import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    babel_locale,
    catalog_language,
    choose_locale,
    normalize_locale,
)


@pytest.mark.parametrize("spelling", ["nl-NL", "nl_NL", "nl-nl", "NL_nl", " nl-NL "])
def test_contact_locale_spellings_are_normalized(spelling: str) -> None:
    # Given a contact locale in any usual spelling, when normalized, then it reads ll-RR.
    assert normalize_locale(spelling) == "nl-NL"


@pytest.mark.parametrize("tag", ["", "  ", "dutch", "nl-NLD", "nl--NL", "12-NL"])
def test_a_string_that_is_no_locale_tag_normalizes_to_none(tag: str) -> None:
    assert normalize_locale(tag) is None


def test_a_supported_contact_locale_wins_over_the_country() -> None:
    # Given a Dutch contact at a Belgian account, when choosing, then the contact's locale wins.
    assert choose_locale("nl-NL", "nl-BE") == "nl-NL"
    assert choose_locale("en_gb", "nl-NL") == "en-GB"


@pytest.mark.parametrize(
    ("contact", "country", "expected"),
    [
        ("nl", "nl-BE", "nl-BE"),  # language only: take the country's region
        ("nl-SR", "nl-BE", "nl-BE"),  # unsupported region: take the country's region
        ("en-IE", "en-GB", "en-GB"),
        ("en", "nl-BE", "en-US"),  # no en-BE: any English one, the first listed
    ],
)
def test_the_contact_language_is_kept_with_the_country_region_when_possible(
    contact: str, country: str, expected: str
) -> None:
    assert choose_locale(contact, country) == expected


def test_the_contact_language_in_any_region_beats_the_country_default() -> None:
    # Given a Surinamese-Dutch contact at a British account, then Dutch (of the Netherlands) wins.
    assert choose_locale("nl-SR", "en-GB") == "nl-NL"
    assert choose_locale("en-AU", None) == "en-US"


@pytest.mark.parametrize("contact", [None, "", "fr-FR", "de", "not a locale"])
def test_the_country_default_is_used_when_the_contact_language_is_unsupported(
    contact: str | None,
) -> None:
    assert choose_locale(contact, "nl-BE") == "nl-BE"
    assert choose_locale(contact, "nl_be") == "nl-BE"


@pytest.mark.parametrize(
    ("contact", "country"), [(None, None), ("fr-FR", "fr-FR"), ("de", None), (None, "xx")]
)
def test_the_default_locale_is_used_when_nothing_else_is_supported(
    contact: str | None, country: str | None
) -> None:
    assert choose_locale(contact, country) == DEFAULT_LOCALE


def test_the_default_locale_is_supported() -> None:
    assert DEFAULT_LOCALE in SUPPORTED_LOCALES


def test_every_supported_locale_is_spelled_canonically_and_known_to_cldr() -> None:
    for locale in SUPPORTED_LOCALES:
        assert normalize_locale(locale) == locale
        assert isinstance(babel_locale(locale), babel.Locale)


@pytest.mark.parametrize(
    ("locale", "catalog"),
    [("nl-BE", "nl"), ("nl-NL", "nl"), ("en-GB", "en"), ("ar", "ar"), ("pt-BR", "pt_BR"), ("zh-CN", "zh_CN")],
)
def test_catalogs_are_per_language_unless_the_region_changes_the_text(
    locale: str, catalog: str
) -> None:
    assert catalog_language(locale) == catalog


def test_babel_locale_carries_language_and_region() -> None:
    locale = babel_locale("nl-BE")
    assert (locale.language, locale.territory) == ("nl", "BE")
    assert babel_locale("ar").character_order == "right-to-left"


@pytest.mark.parametrize("tag", ["xx-YY", "not a locale"])
def test_babel_locale_refuses_what_cldr_does_not_know(tag: str) -> None:
    with pytest.raises(ValueError):
        babel_locale(tag)
