"""A recipient's state as its delivery's hash keeps it: an array without the address, read back
as the same state, and the JSON objects of before still readable."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from worker.domain.delivery import Outcome, RecipientState
from worker.store import recipient_records

ELS = "els@acme.example"

STATES = [
    RecipientState(address=ELS, role="to"),
    RecipientState(
        address=ELS,
        role="to",
        state=Outcome.ACCEPTED,
        reply="250 2.0.0 Ok: queued as 4F2A91C3B7",
        attempts=1,
        first_attempt_at=1796249429.125,
        updated_at=1796249430.5,
    ),
    RecipientState(
        address="jan@example.nl",
        role="cc",
        state=Outcome.DEFERRED,
        reply='451 4.7.1 "greylisted", try again — später',
        attempts=3,
        first_attempt_at=1.0,
        updated_at=2.0,
        next_attempt_at=3.0,
        bounce_resends=2,
    ),
]


@pytest.mark.parametrize("state", STATES, ids=["new", "accepted", "deferred-cc"])
def test_a_state_reads_back_equal_at_under_half_of_its_json_object(state):
    kept = recipient_records.encode(state.address, state)
    assert recipient_records.decode(state.address, kept) == state
    assert state.address not in kept
    assert len(kept) * 2 < len(json.dumps(asdict(state)))


def test_a_state_whose_address_differs_from_its_field_keeps_its_own():
    state = STATES[1]
    kept = recipient_records.encode("ELS@ACME.EXAMPLE", state)
    assert recipient_records.decode("ELS@ACME.EXAMPLE", kept) == state


@pytest.mark.parametrize("state", STATES, ids=["new", "accepted", "deferred-cc"])
def test_a_state_kept_as_a_json_object_before_reads_back(state):
    # Given a state as kept before 2026-12-02: the whole dataclass as a JSON object
    legacy = json.dumps(asdict(state)).encode()
    assert recipient_records.decode(state.address, legacy) == state
