"""The selling entities: one per booking country, named as the remittance data names the beneficiary,
each tax id passing its country's check digits (python-stdnum)."""

from __future__ import annotations

import importlib

import pytest
from stdnum.eu import vat as eu_vat

from worker.data.countries import countries
from worker.data.sellers import UnknownSeller, issuing_seller, seller_for, sellers
from worker.domain.einvoice.vat_categories import EU_MEMBER_STATES

COUNTRIES = sorted(countries())
#: Booking countries with a selling entity of their own; the rest are issued by the EU or US one.
OWN_ENTITY = sorted(sellers())
#: The python-stdnum module checking the VAT/GST/consumption-tax id of each non-EU booking country.
NON_EU_VAT_MODULES = {
    "GB": "stdnum.gb.vat", "CH": "stdnum.ch.vat", "NO": "stdnum.no.mva", "JP": "stdnum.jp.cn",
    "IN": "stdnum.in_.gstin", "AU": "stdnum.au.abn", "NZ": "stdnum.nz.ird", "CA": "stdnum.ca.bn",
    "MX": "stdnum.mx.rfc", "BR": "stdnum.br.cnpj", "AR": "stdnum.ar.cuit", "CL": "stdnum.cl.rut",
    "CO": "stdnum.co.nit", "CN": "stdnum.cn.uscc", "TW": "stdnum.tw.ubn", "KR": "stdnum.kr.brn",
    "EG": "stdnum.eg.tn", "ZA": "stdnum.za.tin", "IL": "stdnum.il.hp", "TR": "stdnum.tr.vkn",
    "TH": "stdnum.th.tin", "MA": "stdnum.ma.ice", "SG": "stdnum.sg.uen",
}  # fmt: skip
#: Countries whose tax number python-stdnum has no module for: 15 digits (UAE TRN, Saudi VAT number).
FIFTEEN_DIGIT_TAX_NUMBERS = {"AE", "SA"}
#: The US seller's tax number is its EIN (sales tax, no VAT).
EIN = {"US"}
#: Booking countries whose invoice carries no seller tax number: no VAT (HK, QA), Malaysia's SST
#: registration (not modelled).
NO_TAX_NUMBER = {"HK", "QA", "MY"}


def test_every_seller_is_of_a_booking_country_and_the_others_are_issued_by_the_eu_or_us_entity() -> None:
    assert set(OWN_ENTITY) <= set(COUNTRIES)
    for country in set(COUNTRIES) - set(OWN_ENTITY):
        assert issuing_seller(country) == seller_for("NL" if country in EU_MEMBER_STATES else "US")


@pytest.mark.parametrize("country", sorted(set(COUNTRIES) - set(OWN_ENTITY)))
def test_a_country_without_its_own_entity_remits_to_the_issuing_entity(country: str) -> None:
    beneficiaries = {details["beneficiary"] for details in countries()[country]["remittance"].values()}
    assert beneficiaries == {issuing_seller(country).legal_name}
    assert "No local entity" in countries()[country]["assumptions"]


@pytest.mark.parametrize("country", OWN_ENTITY)
def test_the_seller_is_the_beneficiary_of_the_countrys_remittance_data(country: str) -> None:
    # Given the booking country's remittance details (every currency names one beneficiary)
    beneficiaries = {details["beneficiary"] for details in countries()[country]["remittance"].values()}
    # When its seller is looked up
    seller = seller_for(country)
    # Then the legal name is that beneficiary, with an address in that country
    assert beneficiaries == {seller.legal_name}
    assert seller.address.country == country
    assert seller.address.lines and seller.address.city
    assert seller.company_registration


@pytest.mark.parametrize("country", sorted(EU_MEMBER_STATES & set(OWN_ENTITY)))
def test_each_eu_seller_vat_id_passes_the_eu_check_digits(country: str) -> None:
    vat_id = seller_for(country).vat_id

    assert vat_id is not None and vat_id.startswith(country)
    assert eu_vat.is_valid(vat_id)


@pytest.mark.parametrize("country", sorted(set(OWN_ENTITY) - EU_MEMBER_STATES))
def test_each_non_eu_seller_tax_id_passes_its_countrys_check(country: str) -> None:
    seller = seller_for(country)
    # BT-31 only with its ISO 3166 prefix (BR-CO-09); a local number is BT-32
    assert seller.vat_id is None or seller.vat_id.startswith(country)
    tax_id = seller.vat_id or seller.tax_registration_id
    if country in NO_TAX_NUMBER:
        assert tax_id is None
    elif country in EIN:
        assert importlib.import_module("stdnum.us.ein").is_valid(tax_id)
    elif country in FIFTEEN_DIGIT_TAX_NUMBERS:
        assert tax_id is not None and tax_id.isdigit() and len(tax_id) == 15
    else:
        assert importlib.import_module(NON_EU_VAT_MODULES[country]).is_valid(tax_id)


def test_every_non_eu_country_is_checked_one_way() -> None:
    non_eu = set(OWN_ENTITY) - EU_MEMBER_STATES
    assert non_eu == set(NON_EU_VAT_MODULES) | FIFTEEN_DIGIT_TAX_NUMBERS | EIN | NO_TAX_NUMBER


def test_a_country_without_a_seller_is_refused_by_name() -> None:
    with pytest.raises(UnknownSeller, match="'XX'"):
        seller_for("XX")


def test_a_booking_country_without_its_own_entity_is_issued_by_the_eu_or_us_entity() -> None:
    assert issuing_seller("GR") == seller_for("NL")
    assert issuing_seller("KE") == seller_for("US")
    assert issuing_seller(None) == seller_for("US")
    assert issuing_seller("DE") == seller_for("DE")
