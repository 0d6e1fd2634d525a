"""The worker's Prometheus metrics: one registry per process (the `ServiceContext` carries it),
served on METRICS_PORT by `worker.runtime.probes`.

Labels stay bounded: kinds, locales, states, event types of the contract, SMTP stages and reply
classes; never an address, an invoice number or an account id. A label value from outside (an
event's `type`) that is not one of the known ones is counted as "other".
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from worker.contract.events import DATA_MODELS
from worker.domain.delivery import RecipientState, SmtpReply
from worker.store.backlog import Backlog

# No `_created` series beside every counter and histogram: they double what is scraped and no
# dashboard here reads them (process-wide, as prometheus_client has it).
disable_created_metrics()

#: Seconds: from a tenth of a millisecond (a cached render) to a minute (a stalled relay).
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def reply_class(reply: SmtpReply | None) -> str:
    """`2xx`, `4xx`, `5xx`, or `none` (no reply: the connection failed or ended mid-transaction)."""
    if reply is None or not 200 <= reply.code <= 599:
        return "none"
    return f"{reply.code // 100}xx"


def event_type_label(event_type: object) -> str:
    return event_type if isinstance(event_type, str) and event_type in DATA_MODELS else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "invoice_worker_events",
            "Events taken from the queue, by type and what became of them (applied, parked, dead_lettered).",
            ["type", "result"],
            registry=registry,
        )
        self.emails_built = Counter(
            "invoice_worker_emails_built",
            "Emails rendered and built (once per delivery: retries send the stored bytes).",
            ["kind", "locale"],
            registry=registry,
        )
        self.recipient_outcomes = Counter(
            "invoice_worker_recipient_outcomes",
            "Recipients' outcomes as they are decided: one per attempt, suppression, give-up or bounce.",
            ["kind", "state"],
            registry=registry,
        )
        self.smtp_replies = Counter(
            "invoice_worker_smtp_replies",
            "SMTP replies per recipient, by the stage they answered and their class (none: no reply).",
            ["stage", "reply_class"],
            registry=registry,
        )
        self.setup_alerts = Counter(
            "invoice_worker_setup_alerts",
            "Alerts about the worker's own setup (worker.services.alerts): a relay refusing our login, "
            "HELO name, TLS, sender or connection; one per distinct alert per attempt.",
            ["alert"],
            registry=registry,
        )
        self.render_seconds = Histogram(
            "invoice_worker_render_seconds",
            "Rendering an email's templates and building its MIME message (DKIM signing included).",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.document_seconds = Histogram(
            "invoice_worker_document_seconds",
            "Building an email's documents (PDF, e-invoice, their checks), or reading them back.",
            ["kind"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.send_seconds = Histogram(
            "invoice_worker_send_seconds",
            "One SMTP transaction (connection set-up included when one was opened).",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        # Sampled from Redis by the process's watch (worker.store.backlog): the whole store, so
        # every process reports the same values; take max() across instances, not sum().
        self.due_members = Gauge(
            "invoice_worker_due_members", "Members of the due-time index (all kinds).", registry=registry
        )
        self.due_claimed = Gauge(
            "invoice_worker_due_claimed", "Due members claimed by a worker now.", registry=registry
        )
        self.oldest_due_age = Gauge(
            "invoice_worker_oldest_due_age_seconds",
            "Seconds since the oldest unclaimed due member fell due (0: nothing is late).",
            registry=registry,
        )
        self.retrying = Gauge(
            "invoice_worker_deliveries_retrying",
            "Deliveries waiting for a retry (a recipient deferred or its outcome unknown).",
            registry=registry,
        )
        self.parked = Gauge("invoice_worker_parked_events", "Events waiting for what they need.", registry=registry)
        self.dead_letters = Gauge(
            "invoice_worker_dead_letters", "Dead letters kept (see `invoice-worker dead-letters`).", registry=registry
        )
        self.sealed = Gauge(
            "invoice_worker_sealed_secrets", "Sealed secrets waiting to be used or to expire.", registry=registry
        )
        self.backlog_sampled = Gauge(
            "invoice_worker_backlog_sampled_timestamp_seconds",
            "When the backlog gauges were last read from Redis (Unix seconds).",
            registry=registry,
        )
        self.redis_up = Gauge(
            "invoice_worker_redis_up", "1 when Redis answered the last look and its policy is safe.", registry=registry
        )
        self.smtp_connections = Gauge(
            "invoice_worker_smtp_connections",
            "SMTP connections of this process's pool: idle (open, ready) and busy (in a transaction).",
            ["state"],
            registry=registry,
        )
        self.held_outcomes = Gauge(
            "invoice_worker_held_outcomes",
            "SMTP outcomes held in memory because Redis did not take them yet (sending paused).",
            registry=registry,
        )

    def count_outcomes(self, kind: str, states: dict[str, RecipientState]) -> None:
        """Count recipients' outcomes as they are decided (one per recipient in `states`)."""
        for state in states.values():
            self.recipient_outcomes.labels(kind, str(state.state)).inc()

    def record_backlog(self, backlog: Backlog, *, at: float) -> None:
        self.due_members.set(backlog.due_members)
        self.due_claimed.set(backlog.claimed)
        self.oldest_due_age.set(backlog.oldest_due_age_s)
        self.retrying.set(backlog.retrying)
        self.parked.set(backlog.parked)
        self.dead_letters.set(backlog.dead_letters)
        self.sealed.set(backlog.sealed)
        self.backlog_sampled.set(at)
