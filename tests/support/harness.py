"""A whole pipeline in the test process: real Redis, real SMTP server, a clock the test moves."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.support.sealing import TEST_SEALING_KEY
from worker.runtime.runner import Pipeline, make_pipeline, run
from worker.services.context import ServiceContext
from worker.services.ingest import IngestReport, ingest_lines
from worker.services.status import collect_dead_letters, collect_status
from worker.settings import Settings


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(redis_url: str, smtp_port: int, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_tls": "none",
        "smtp_timeout_s": 5.0,
        "scheduler_interval_s": 0.05,
        "worker_threads": 4,
        "retry_first_s": 300.0,
        # The fake clock does not move by itself: look at touched orders at once.
        "event_gather_s": 0.0,
        # Secrets are sealed in Redis (worker/store/cipher.py); the tests' own Redis needs a key.
        "sealing_key": TEST_SEALING_KEY,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    pipeline: Pipeline
    clock: FakeClock

    @classmethod
    def build(cls, settings: Settings, now: datetime) -> Harness:
        clock = FakeClock(now)
        return cls(make_pipeline(settings, ServiceContext.from_settings(settings, clock=clock)), clock)

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def ingest(self, events: list[dict[str, Any]] | list[str]) -> IngestReport:
        lines = [e if isinstance(e, str) else json.dumps(e) for e in events]
        return ingest_lines(self.pipeline, lines)

    def drain(self, timeout_s: float = 30) -> None:
        run(self.pipeline, burst=True, timeout_s=timeout_s)

    def status(self, invoice: str | None = None) -> list[dict[str, Any]]:
        return asyncio.run(
            collect_status(
                self.settings.redis_url or "", self.settings.redis_prefix, invoice=invoice, today=self.clock().date()
            )
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        return asyncio.run(collect_dead_letters(self.settings.redis_url or "", self.settings.redis_prefix))

    def recipient_states(self) -> dict[str, dict[str, str]]:
        """invoice/delivery key -> address -> state."""
        return {row["key"]: {r["address"]: r["state"] for r in row["recipients"]} for row in self.status()}
