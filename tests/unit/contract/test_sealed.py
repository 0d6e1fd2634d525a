"""Queue messages carry no secret and no card number (worker/sealed.py). Pure."""

from __future__ import annotations

from tests.support.contract_events import card_failed, rewards_accrued
from worker.contract.sealed import SEALED_PLACEHOLDER, prepare_for_queue, sealed_token, sealed_tokens
from worker.domain.card_numbers import REDACTED_CARD


def test_a_redemption_code_is_replaced_by_a_reference_to_its_sealed_copy():
    # Given a rewards event with a code, and a vault that keeps what it is given
    kept = {}

    def seal(secret: str) -> str:
        kept["tok-1"] = secret
        return "tok-1"

    event = rewards_accrued(code="RWD-SECRET-42")
    # When prepared for the queue
    queued = prepare_for_queue(event, seal)
    # Then the message holds the token, not the code; the original is untouched
    assert "RWD-SECRET-42" not in repr(queued)
    assert queued["data"]["redemption_code"] == SEALED_PLACEHOLDER
    assert sealed_token(queued, "redemption_code") == "tok-1" and sealed_tokens(queued) == ["tok-1"]
    assert kept == {"tok-1": "RWD-SECRET-42"}
    assert event["data"]["redemption_code"] == "RWD-SECRET-42"


def test_an_already_sealed_event_is_not_sealed_again():
    queued = prepare_for_queue(rewards_accrued(), lambda secret: "tok-1")
    assert prepare_for_queue(queued, lambda secret: "tok-2")["sealed"] == {"redemption_code": "tok-1"}


def test_a_card_number_in_a_failed_payment_reason_is_redacted_before_queueing():
    queued = prepare_for_queue(card_failed(reason="card 4111-1111-1111-1111 declined"), lambda s: "unused")
    assert queued["data"]["reason"] == f"card {REDACTED_CARD} declined"
    assert "sealed" not in queued


def test_other_events_pass_unchanged():
    event = card_failed()
    assert prepare_for_queue(event, lambda s: "unused") == event
    assert sealed_tokens(event) == []
