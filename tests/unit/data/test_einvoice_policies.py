"""Each country's e-invoice policy in `countries.json`: one of the formats, the documented
defaults, and what an account gets from it."""

from __future__ import annotations

import json

import pytest

from worker.data import countries as countries_module
from worker.data.countries import account_einvoice, countries, einvoice_policy
from worker.domain.einvoice.policy import COUNTRY_POLICIES
from worker.domain.model import Account

#: README "E-invoices": the countries with a policy; every other sends the PDF alone.
DOCUMENTED = {"DE": "facturx", "FR": "facturx", "BE": "ubl", "NL": "ubl"}


@pytest.mark.parametrize("country", sorted(countries()))
def test_every_country_states_its_policy_and_it_is_the_documented_one(country):
    # Given the data file's entry for a country
    facts = countries()[country]
    # Then it names its policy, one the worker knows, and the one README documents
    assert facts["einvoice"] in COUNTRY_POLICIES
    assert einvoice_policy(country) == DOCUMENTED.get(country, "none")


def test_a_country_missing_from_the_file_sends_the_pdf_alone():
    assert "AQ" not in countries()  # Kazakhstan, the example before, is in the file now
    assert einvoice_policy("AQ") == "none" and einvoice_policy(None) == "none"


def test_an_account_gets_its_countrys_policy_or_its_own_choice():
    # Given a Belgian account with a Peppol id, a Dutch one without, a German one asking for none
    belgian = Account("A-1", "Acme BV", "BE", "commercial", peppol_id="0208:0403019261")
    dutch = Account("A-2", "Acme B.V.", "NL", "commercial")
    german = Account("A-3", "Acme GmbH", "DE", "commercial", einvoice="none")
    # Then the Belgian gets UBL, the Dutch the PDF alone saying why, the German the PDF alone
    assert account_einvoice(belgian).format == "ubl"
    dutch_choice = account_einvoice(dutch)
    assert (dutch_choice.format, dutch_choice.reason) == (
        "none",
        "UBL (Peppol) needs the buyer's peppol_id; sent as the PDF alone",
    )
    assert account_einvoice(german).format == "none"


def test_a_policy_the_worker_does_not_know_is_refused_naming_the_country(monkeypatch, tmp_path):
    # Given a data file whose Dutch entry says "zugferd"
    bad = {"NL": {**countries()["NL"], "einvoice": "zugferd"}}
    path = tmp_path / "countries.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    monkeypatch.setattr(countries_module, "COUNTRIES_FILE", path)
    countries.cache_clear()
    try:
        # When the policy is read, Then the error names the country and the value
        with pytest.raises(ValueError, match=r"NL's einvoice 'zugferd'"):
            einvoice_policy("NL")
    finally:
        countries.cache_clear()
