"""The scheduler looks again when the next member falls due, not only at its round interval."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.support.harness import FakeClock, make_settings
from worker.runtime.scheduler import MIN_LOOK_INTERVAL_S, Scheduler
from worker.services.context import ServiceContext

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def wait_after_marking(redis_url: str, due_in_s: list[float], *, interval_s: float = 1.0) -> float:
    settings = make_settings(redis_url, 2525, scheduler_interval_s=interval_s, redis_prefix="sched-test")
    app = ServiceContext.from_settings(settings, clock=FakeClock(NOW))

    async def scenario() -> float:
        try:
            for n, delay in enumerate(due_in_s):
                await app.store.due.mark_due(f"window:O-{n}", NOW.timestamp() + delay)
            return await Scheduler(app, actors=None)._until_next_look()  # type: ignore[arg-type]
        finally:
            await app.store.redis.delete(app.keys.due)
            await app.aclose()

    return asyncio.run(scenario())


def test_with_nothing_due_it_waits_its_interval(redis_url):
    assert wait_after_marking(redis_url, []) == 1.0


def test_it_looks_again_when_the_next_window_falls_due(redis_url):
    # Given windows due in 0.3 s and in 5 s, When the scheduler has just looked
    # Then it looks again in 0.3 s, not at its 1 s round
    assert wait_after_marking(redis_url, [5.0, 0.3]) == pytest.approx(0.3, abs=1e-3)


def test_it_waits_a_little_to_take_what_falls_due_together_and_never_longer_than_its_interval(redis_url):
    assert wait_after_marking(redis_url, [0.0]) == MIN_LOOK_INTERVAL_S
    assert wait_after_marking(redis_url, [30.0]) == 1.0
    assert wait_after_marking(redis_url, [0.0], interval_s=0.05) == 0.05
