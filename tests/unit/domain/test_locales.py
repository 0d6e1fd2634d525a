"""Choosing the locale of an email, and naming its catalog and CLDR data."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import babel
import pytest
from babel import localedata
from babel.dates import format_date, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent

from worker.domain.locales import (
    DEFAULT_LOCALE,
    SUPPORTED_LOCALES,
    UNUSED_CLDR_DATA,
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
        ("nl-SR", "nl-BE", "nl-SR"),  # a real CLDR locale: its own formats, the Dutch catalog
        ("en-IE", "en-GB", "en-IE"),
        ("en", "nl-BE", "en-BE"),  # English as CLDR writes it in Belgium
        ("fr", "en-CA", "fr-CA"),
        ("de", "de-CH", "de-CH"),
        ("en", "hi-IN", "en-IN"),
    ],
)
def test_the_contact_language_is_kept_with_the_country_region_when_possible(
    contact: str, country: str, expected: str
) -> None:
    assert choose_locale(contact, country) == expected


def test_the_contact_language_in_any_region_beats_the_country_default() -> None:
    # Given a Surinamese-Dutch contact at a British account, then Dutch wins, in Surinamese formats.
    assert choose_locale("nl-SR", "en-GB") == "nl-SR"
    assert choose_locale("en-AU", None) == "en-AU"


@pytest.mark.parametrize("contact", [None, "", "hu-HU", "el", "not a locale"])
def test_the_country_default_is_used_when_the_contact_language_is_unsupported(
    contact: str | None,
) -> None:
    assert choose_locale(contact, "nl-BE") == "nl-BE"
    assert choose_locale(contact, "nl_be") == "nl-BE"


@pytest.mark.parametrize(("contact", "country"), [(None, None), ("hu-HU", None), ("el", None), (None, "xx")])
def test_the_default_locale_is_used_when_nothing_else_is_supported(contact: str | None, country: str | None) -> None:
    assert choose_locale(contact, country) == DEFAULT_LOCALE


@pytest.mark.parametrize(("country", "expected"), [("hu-HU", "en-HU"), ("el-GR", "en-001"), ("vi-VN", "en-001")])
def test_a_country_of_a_language_without_catalog_gets_english_in_its_region_or_international_english(
    country: str, expected: str
) -> None:
    # Given a Hungarian account (no Hungarian catalog), then English as CLDR writes it in Hungary;
    # for a region CLDR has no English locale for, international English
    assert choose_locale(None, country) == expected
    assert catalog_language(expected) == "en"


def test_the_default_locale_is_supported() -> None:
    assert DEFAULT_LOCALE in SUPPORTED_LOCALES


def test_every_supported_locale_is_spelled_canonically_and_known_to_cldr() -> None:
    for locale in SUPPORTED_LOCALES:
        assert normalize_locale(locale) == locale
        assert isinstance(babel_locale(locale), babel.Locale)


@pytest.mark.parametrize(
    ("locale", "catalog"),
    [
        ("nl-BE", "nl"),
        ("nl-NL", "nl"),
        ("en-GB", "en"),
        ("ar", "ar"),
        ("pt-BR", "pt_BR"),
        ("zh-CN", "zh_CN"),
        ("en-US", "en_US"),
        ("en-PH", "en_US"),
        ("en-IN", "en"),
        ("en-AU", "en"),
        ("en-001", "en"),
        ("en-HU", "en"),
        ("es-AR", "es_419"),
        ("es-MX", "es_419"),
        ("es-ES", "es"),
        ("pt-PT", "pt_PT"),
        ("pt-AO", "pt_PT"),
        ("pt", "pt_BR"),
        ("fr-CA", "fr_CA"),
        ("fr-CH", "fr"),
        ("de-CH", "de"),
        ("zh-TW", "zh_TW"),
        ("zh-Hant-HK", "zh_TW"),
        ("zh-HK", "zh_TW"),
        ("zh-Hans-TW", "zh_CN"),
        ("he-IL", "he"),
        ("nb-NO", "nb"),
    ],  # fmt: skip
)
def test_catalogs_are_per_language_unless_the_region_changes_the_text(locale: str, catalog: str) -> None:
    assert catalog_language(locale) == catalog


def test_babel_locale_carries_language_and_region() -> None:
    locale = babel_locale("nl-BE")
    assert (locale.language, locale.territory) == ("nl", "BE")
    assert babel_locale("ar").character_order == "right-to-left"


@pytest.mark.parametrize("tag", ["xx-YY", "not a locale"])
def test_babel_locale_refuses_what_cldr_does_not_know(tag: str) -> None:
    with pytest.raises(ValueError):
        babel_locale(tag)


# --- every language of the list, and the fallback ---------------------------------------------


@pytest.mark.parametrize(
    ("contact", "country", "expected"),
    [
        ("de", None, "de-DE"),
        ("fr", "nl-BE", "fr-BE"),  # a French speaker in Belgium
        ("es-419", "es-MX", "es-419"),
        ("pt", "pt-BR", "pt-BR"),
        ("ja", None, "ja-JP"),
        ("ko", None, "ko-KR"),
        ("zh-Hans-CN", None, "zh-Hans-CN"),
        ("ar-AE", "ar-AE", "ar-AE"),
        (None, "ar-SA", "ar-SA"),  # the country's own locale: its formats
        (None, "es-AR", "es-AR"),
        (None, "de-AT", "de-AT"),
        (None, "pt-PT", "pt-PT"),
        (None, "he-IL", "he-IL"),
        ("pl", None, "pl-PL"),
        ("sv", "fi-FI", "sv-FI"),  # a Swedish speaker in Finland
        ("iw", None, "he-IL"),
        ("no", "nb-NO", "nb-NO"),
    ],
)
def test_every_supported_language_is_reached(contact: str | None, country: str | None, expected: str) -> None:
    assert choose_locale(contact, country) == expected


@pytest.mark.parametrize("tag", ["zh-TW", "zh-Hant-HK", "zh-HK", "zh_Hant", "zh-MO"])
def test_traditional_chinese_readers_are_written_to_in_traditional_chinese(tag: str) -> None:
    # Given a contact or country in traditional Chinese, when choosing, then the zh_TW catalog.
    assert catalog_language(choose_locale(tag, None)) == "zh_TW"
    assert catalog_language(choose_locale(None, tag)) == "zh_TW"


def test_a_fallback_is_logged_once_per_asked_and_chosen_pair(caplog: pytest.LogCaptureFixture) -> None:
    # Given a contact locale no catalog serves (unique to this test, the log is per process)
    caplog.set_level(logging.WARNING, logger="worker.domain.locales")

    # When it is chosen for three emails, and another pair once
    for _ in range(3):
        assert choose_locale("hu-SK", None) == DEFAULT_LOCALE
    assert choose_locale("hu-SK", "de-AT") == "de-AT"

    # Then each (asked, chosen) pair is logged once, naming both
    messages = [r.getMessage() for r in caplog.records if r.name == "worker.domain.locales"]
    assert messages == [
        "locale 'hu-SK' is not available; writing in 'en-US' instead",
        "locale 'hu-SK' is not available; writing in 'de-AT' instead",
    ]


def test_a_supported_locale_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="worker.domain.locales")
    for locale in SUPPORTED_LOCALES:
        assert choose_locale(locale, None) == locale
    assert choose_locale(None, None) == DEFAULT_LOCALE
    assert not [r for r in caplog.records if r.name == "worker.domain.locales"]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ja_JP.UTF-8", "ja-JP"),
        ("de_DE@euro", "de-DE"),
        ("de-DE-1996", "de-DE"),
        ("en-US-u-ca-buddhist", "en-US"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("iw-IL", "he-IL"),
        ("no", "nb"),
        ("in-ID", "id-ID"),
    ],
)
def test_posix_spellings_variants_extensions_and_old_codes_keep_the_preference(tag: str, expected: str) -> None:
    assert normalize_locale(tag) == expected


def test_a_bcp47_tag_with_trailing_garbage_is_still_no_locale() -> None:
    assert normalize_locale("nl-NL-!!") is None and normalize_locale("nl-NL-ab") is None


@pytest.mark.parametrize("contact", ["ja_JP.UTF-8", "de-DE-1996", "en-US-u-ca-buddhist"])
def test_a_contact_preference_in_an_unusual_spelling_is_honoured(contact: str) -> None:
    assert choose_locale(contact, "nl-NL") == normalize_locale(contact)


@pytest.mark.parametrize("contact", ["zh-TW", "zh-HK", "zh-Hant", "zh-Hant-CN"])
def test_a_traditional_chinese_reader_is_never_written_to_in_simplified_chinese(contact: str) -> None:
    # Given a traditional-Chinese contact at an account whose country defaults to zh-CN
    # Then traditional Chinese, never zh-CN
    chosen = choose_locale(contact, "zh-CN")
    assert catalog_language(chosen) == "zh_TW" and chosen != "zh-CN"


def test_simplified_chinese_written_in_taiwan_reads_simplified() -> None:
    assert choose_locale("zh-Hans-TW", "zh-TW") == "zh-CN"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_a_locale_in_use_keeps_only_the_cldr_data_it_formats_with(locale: str) -> None:
    # Given a supported locale, when it is used, then Babel's cache of it and of its parents no
    # longer holds the names of languages, territories, time zones nor unit patterns (~0.6 MB a
    # locale), and every format an email or a document uses still works in it.
    cldr = babel_locale(locale)
    chain = [name for name in localedata._cache if str(cldr).startswith(name.split("_")[0])]
    assert chain
    for name in [*chain, "root"]:
        assert not UNUSED_CLDR_DATA & localedata.load(name).keys(), name
    assert format_currency(Decimal("2124000.5"), "EUR", locale=cldr)
    assert format_currency(Decimal("12.5"), "JPY", locale=cldr, format_type="name")
    assert format_decimal(Decimal("1234.5"), locale=cldr)
    assert format_percent(Decimal("0.21"), locale=cldr)
    assert format_date(date(2026, 2, 1), format="long", locale=cldr)
    assert format_skeleton("yMMMM", date(2026, 2, 1), locale=cldr)
    assert cldr.character_order in {"left-to-right", "right-to-left"}
