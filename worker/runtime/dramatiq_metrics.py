"""dramatiq's own Prometheus middleware (messages, errors, retries, rejects, in progress and
durations per queue and actor), on the worker's registry.

The stock middleware is made for dramatiq's command line: at process boot it points
PROMETHEUS_MULTIPROC_DIR (process-wide) at a directory shared by every dramatiq on the machine
and forks its own server on port 9191. This worker runs its dramatiq.Worker itself and serves one
registry per process on METRICS_PORT (worker.runtime.probes), so only the metrics are made here,
under dramatiq's names; the hooks that count are dramatiq's.
"""

from __future__ import annotations

from typing import Any

from dramatiq.middleware.prometheus import Prometheus
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LABELS = ["queue_name", "actor_name"]
#: dramatiq's buckets (ms), up to ten minutes (its 900,000 left out: no message here runs that long).
DURATION_BUCKETS_MS = (5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000, 30000, 60000, 600000)


class DramatiqMetrics(Prometheus):
    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.total_messages = Counter(
            "dramatiq_messages_total", "The total number of messages processed.", LABELS, registry=registry
        )
        self.total_errored_messages = Counter(
            "dramatiq_message_errors_total", "The total number of errored messages.", LABELS, registry=registry
        )
        self.total_retried_messages = Counter(
            "dramatiq_message_retries_total", "The total number of retried messages.", LABELS, registry=registry
        )
        self.total_rejected_messages = Counter(
            "dramatiq_message_rejects_total", "The total number of dead-lettered messages.", LABELS, registry=registry
        )
        self.inprogress_messages = Gauge(
            "dramatiq_messages_inprogress", "The number of messages in progress.", LABELS, registry=registry
        )
        self.inprogress_delayed_messages = Gauge(
            "dramatiq_delayed_messages_inprogress",
            "The number of delayed messages in memory.",
            LABELS,
            registry=registry,
        )
        self.message_durations = Histogram(
            "dramatiq_message_duration_milliseconds",
            "The time spent processing messages.",
            LABELS,
            buckets=DURATION_BUCKETS_MS,
            registry=registry,
        )

    @property
    def forks(self) -> list[Any]:
        return []  # no exposition server of its own: worker.runtime.probes serves the registry

    def after_process_boot(self, broker: Any) -> None:
        pass  # the metrics are made in __init__, on the worker's registry (see module doc)

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        pass  # no multiprocess files to mark dead
