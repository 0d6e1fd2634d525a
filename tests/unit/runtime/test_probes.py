"""`/readyz`'s verdict on the relay from what the senders last heard: ready when a session was
set up lately or at the last attempt, not ready (saying why) when the relay keeps failing; and
`/healthz`'s verdict on a loop held up by Redis."""

from __future__ import annotations

import time

from worker.runtime.probes import RELAY_RECHECK_S, Probes, relay_verdict
from worker.services.context import ServiceContext
from worker.settings import Settings

NOW = 1_800_000_000.0


def app() -> ServiceContext:
    return ServiceContext.from_settings(
        Settings(redis_url="redis://127.0.0.1:1/0", smtp_host="127.0.0.1", smtp_port=2525)
    )


def test_a_relay_never_tried_is_not_ready_yet() -> None:
    verdict = relay_verdict(app(), NOW)
    assert not verdict.ok and "not tried yet" in verdict.detail


def test_a_session_set_up_at_the_last_attempt_is_ready() -> None:
    context = app()
    context.relay_health.succeeded(at=NOW - 600)
    verdict = relay_verdict(context, NOW)
    assert verdict.ok and "127.0.0.1:2525" in verdict.detail


def test_one_failure_after_a_recent_session_is_still_ready_and_says_so() -> None:
    context = app()
    context.relay_health.succeeded(at=NOW - 10)
    context.relay_health.failed("421 4.3.2 shutting down", at=NOW - 1)
    verdict = relay_verdict(context, NOW)
    assert verdict.ok and "421 4.3.2 shutting down" in verdict.detail


def test_a_failing_relay_with_no_recent_session_is_not_ready_with_its_reply() -> None:
    context = app()
    context.relay_health.succeeded(at=NOW - RELAY_RECHECK_S - 30)
    context.relay_health.failed("Connection refused", at=NOW - 2)
    verdict = relay_verdict(context, NOW)
    assert not verdict.ok and "Connection refused" in verdict.detail


def test_a_loop_held_up_by_a_redis_that_does_not_answer_is_waiting_not_stalled() -> None:
    # Given a scheduler that last went round two minutes ago, and a Redis that does not answer
    probes = Probes(app(), {"scheduler": lambda: time.monotonic() - 120}, stall_s=60)
    try:
        # When the orchestrator asks whether the process is alive
        (check,) = probes.loops_health().values()
    finally:
        probes.close()
    # Then it is: restarting it would not bring Redis back; and it says what it waits for
    assert check.ok
    assert "stalled" in check.detail and "waiting for Redis" in check.detail and "does not answer" in check.detail
