"""A VAT id is checked by its own country's rules (python-stdnum), and a refusal says why in the
producer's terms, naming the id and its country."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.contract_events import account_updated
from worker.contract.events import parse_event
from worker.contract.values import VAT_ID_PREFIXES, VatId
from worker.contract.vat_ids import national_rules, vat_id_problem
from worker.errors import InvalidEvent


@pytest.mark.parametrize(
    ("prefix", "rules"),
    [("NL", "eu"), ("EL", "eu"), ("GR", "eu"), ("XI", "eu"), ("GB", "national"), ("CH", "national"),
     ("NO", "national"), ("AU", "national"), ("US", "shape")],
)  # fmt: skip
def test_each_prefix_is_checked_by_its_countrys_rules(prefix, rules):
    assert national_rules(prefix) == rules


@pytest.mark.parametrize(
    ("vat_id", "says"),
    [
        ("NL123456789B01", "NL123456789B01 fails the NL check digits"),
        ("DE136695977", "DE136695977 fails the DE check digits"),
        ("GB980780685", "GB980780685 fails the GB check digits"),
        ("CHE107787578MWST", "CHE107787578MWST fails the CH check digits"),
        ("NO995525829MVA", "NO995525829MVA fails the NO check digits"),
        ("DE1366959", "DE1366959 has the wrong number of characters for DE's VAT ids"),
        ("NL004495445X01", "NL004495445X01 is not in the format of NL's VAT ids"),
        ("BE403019261", "write BE403019261 in full, as BE0403019261"),
        # python-stdnum's Ghana module raises a bare ValueError on a letter among the digits; the
        # reading without the prefix gives the verdict
        ("GHC00000000A0", "GHC00000000A0 has the wrong number of characters for GH's VAT ids"),
    ],
)
def test_a_vat_id_failing_its_countrys_rules_is_refused_on_vat_id_saying_why(vat_id, says):
    # Given an account.updated whose vat_id has the right shape but fails its country's rules
    event = account_updated(event_id="v1", vat_id=vat_id)
    # When the worker validates it, Then it is refused on data.vat_id, naming the id and why
    with pytest.raises(InvalidEvent) as refused:
        parse_event(event)
    assert (refused.value.event_id, refused.value.field, refused.value.reason) == ("v1", "data.vat_id", says)


def test_a_valid_vat_id_reaches_the_account_as_sent():
    account = parse_event(account_updated(vat_id="CHE107787577MWST")).data.to_model()
    assert account.vat_id == "CHE107787577MWST"


_SHAPED = st.builds(
    lambda prefix, number: prefix + number,
    st.sampled_from(sorted(VAT_ID_PREFIXES)),
    st.from_regex(r"\A[0-9A-Z+*]{2,22}\Z"),
)


@settings(max_examples=400, deadline=None)
@given(_SHAPED)
def test_any_vat_id_of_the_right_shape_gets_a_verdict_never_a_crash(vat_id):
    # Given any id of the contract's shape, for every prefix (python-stdnum's modules raise their
    # own errors for what they refuse, which the worker must turn into a reason)
    # When the worker checks it, Then it is accepted or refused with a reason naming it
    problem = vat_id_problem(vat_id)
    assert problem is None or vat_id in problem
    try:
        VatId().validate(vat_id)
    except ValueError as exc:
        assert vat_id in str(exc)
