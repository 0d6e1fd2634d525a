"""What the services work with, built once from the settings by the runtime, the CLI, the dev
tools and the benchmarks, and passed in: the per-event-loop clients (Redis, SMTP), the clock, the
policy values and the retry policy. The services themselves never read the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.domain.delivery import RetryPolicy
from worker.domain.reminders import parse_cadence
from worker.emails.dkim import DkimSigner
from worker.services.alert_log import AlertLog
from worker.services.bounce_settings import bounce_domain, bounce_secret
from worker.services.dkim_settings import dkim_signer
from worker.services.leases import Leases
from worker.services.metrics import Metrics
from worker.services.outcomes import OutcomeJournal
from worker.settings import Settings
from worker.store.cipher import SealingKeys
from worker.store.keys import Keys
from worker.store.store import Store
from worker.transport.relay_health import RelayHealth
from worker.transport.smtp import SmtpConfig, SmtpSender


def utc_now() -> datetime:
    return datetime.now(UTC)


def smtp_config(settings: Settings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host or "127.0.0.1",
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout_s=settings.smtp_timeout_s,
        connections=settings.smtp_connections,
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        allow_plaintext_auth=settings.smtp_allow_plaintext_auth,
        helo_name=settings.smtp_helo_name or None,
    )


@dataclass(frozen=True)
class Policy:
    """The values the services (and the actors and scheduler that drive them) act on."""

    #: How long a claimed due item (or a delivery being sent) stays hidden from other claimers (s).
    due_lease_s: float
    #: How often the scheduler looks for due items (s).
    scheduler_interval_s: float
    #: Attempts of an event or due item failing with an unforeseen error before its dead letter,
    #: and the first wait between two (s, doubling).
    unforeseen_error_attempts: int
    unforeseen_error_retry_s: float
    #: An order touched by an event is looked at this much later, so that events arriving
    #: together are invoiced together (s).
    event_gather_s: float
    #: A parked event (waiting for its account or its rewards) is tried again this often (s).
    parked_retry_s: float
    #: `ingest` hands events to the queue in chunks of this many (one message per chunk).
    ingest_batch_size: int
    #: Longest a sealed secret (taken out of its queue message) is kept in Redis (s).
    sealed_secret_ttl_s: float
    #: An invoice window closes this many days after its first activation at the latest.
    window_days: int
    #: Net payment term: due date = invoice date + this many days.
    payment_term_days: int
    #: A closed window waits at most this long for its account (whose contacts are copied) (s).
    account_grace_s: float
    #: How long a rewards event may wait for what it depends on before it is dead-lettered (s).
    rewards_wait_s: float
    #: Payment reminder steps: days relative to the due date (REMINDER_DAYS).
    reminder_days: tuple[int, ...]
    #: How long a payment may wait for the invoice it pays before it is dead-lettered (s).
    payment_wait_s: float
    #: The From of every email; its address is the envelope sender when VERP is off.
    mail_from: str
    #: The VERP HMAC key, or None when VERP is off.
    bounce_secret: bytes | None = field(repr=False)
    #: Domain of the VERP return paths (ASCII): BOUNCE_DOMAIN, else MAIL_FROM's.
    bounce_domain: str
    #: A temporary `failed` bounce report resends the email this many seconds later ...
    bounce_resend_delay_s: float
    #: ... at most this many times per recipient.
    bounce_resend_max: int
    #: A permanently bouncing address stays suppressed this long (s).
    suppression_ttl_s: float
    #: The account contacts are told about a bouncing billing address at most once per this (s).
    bounce_notice_period_s: float
    #: A final delivery's message and documents are dropped this long after (s); None: never.
    message_retention_s: float | None
    #: Signs every built message (DKIM_*), or None: unsigned.
    dkim: DkimSigner | None = field(default=None, repr=False)
    #: MESSAGE_ID_SECRET, or None: Message-IDs keyed by the installation id alone.
    message_id_secret: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            due_lease_s=settings.due_lease_s,
            scheduler_interval_s=settings.scheduler_interval_s,
            unforeseen_error_attempts=settings.unforeseen_error_attempts,
            unforeseen_error_retry_s=settings.unforeseen_error_retry_s,
            event_gather_s=settings.event_gather_s,
            parked_retry_s=settings.parked_retry_s,
            ingest_batch_size=settings.ingest_batch_size,
            sealed_secret_ttl_s=settings.sealed_secret_ttl_s,
            window_days=settings.window_days,
            payment_term_days=settings.payment_term_days,
            account_grace_s=settings.account_grace_s,
            rewards_wait_s=settings.rewards_wait_s,
            reminder_days=parse_cadence(settings.reminder_days),
            payment_wait_s=settings.payment_wait_s,
            mail_from=settings.mail_from,
            bounce_secret=bounce_secret(settings),
            bounce_domain=bounce_domain(settings),
            bounce_resend_delay_s=settings.bounce_resend_delay_s,
            bounce_resend_max=settings.bounce_resend_max,
            suppression_ttl_s=settings.suppression_ttl_s,
            bounce_notice_period_s=settings.bounce_notice_period_s,
            message_retention_s=settings.message_retention_days * 86400 or None,
            dkim=dkim_signer(settings),
            message_id_secret=(
                settings.message_id_secret.get_secret_value().encode() if settings.message_id_secret else None
            )
            or None,
        )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(first_s=settings.retry_first_s, max_s=settings.retry_max_s, give_up_s=settings.retry_give_up_s)


@dataclass
class ServiceContext:
    """The per-event-loop clients (Redis, SMTP), clock and policy of one process.

    `redis_url`, `keys` and `smtp` say where the clients connect; `store` and `sender` are the
    clients of the running event loop.
    """

    policy: Policy
    retry_policy: RetryPolicy
    redis_url: str | None
    keys: Keys
    smtp: SmtpConfig
    clock: Callable[[], datetime] = utc_now
    #: SEALING_KEY (and old keys): seal redemption codes and built messages in Redis; None: unset.
    sealing: SealingKeys | None = field(default=None, repr=False)
    #: Outcomes whose write to Redis failed, held until written, and what pauses the work (one per process).
    outcomes: OutcomeJournal = field(default_factory=OutcomeJournal, repr=False)
    #: How often each alert is logged (services/alert_log.py).
    alert_log: AlertLog = field(default_factory=AlertLog, repr=False)
    #: This process's Prometheus metrics (served by worker.runtime.probes when METRICS_PORT is set).
    metrics: Metrics = field(default_factory=Metrics, repr=False)
    #: What the relay last said to a session set-up, shared by the senders of every loop.
    relay_health: RelayHealth = field(default_factory=RelayHealth, repr=False)
    _stores: dict[int, Store] = field(default_factory=dict, repr=False)
    _senders: dict[int, SmtpSender] = field(default_factory=dict, repr=False)
    _leases: Leases | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.smtp.check()
        # Made here, not on first use: the scheduler's thread and the actors' share one.
        self._leases = Leases(self)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> ServiceContext:
        return cls(
            policy=Policy.from_settings(settings),
            retry_policy=retry_policy(settings),
            redis_url=settings.redis_url,
            keys=Keys(settings.redis_prefix),
            smtp=smtp_config(settings),
            clock=clock,
            sealing=SealingKeys.from_settings(settings),
            outcomes=OutcomeJournal(recovery_grace_s=settings.redis_recovery_grace_s),
        )

    @property
    def store(self) -> Store:
        """The Store of the running event loop (an asyncio Redis client belongs to one loop)."""
        loop_id = id(asyncio.get_running_loop())
        store = self._stores.get(loop_id)
        if store is None:
            assert self.redis_url, "redis_url must be resolved before the services start"
            store = self._stores[loop_id] = Store.from_url(
                self.redis_url, prefix=self.keys.prefix, sealing=self.sealing
            )
        return store

    @property
    def leases(self) -> Leases:
        """The process's heartbeat: the claims and locks its work holds, renewed while it runs."""
        assert self._leases is not None
        return self._leases

    @property
    def sender(self) -> SmtpSender:
        loop_id = id(asyncio.get_running_loop())
        sender = self._senders.get(loop_id)
        if sender is None:
            sender = self._senders[loop_id] = SmtpSender(self.smtp, self.relay_health)
        return sender

    def smtp_connections(self) -> tuple[int, int]:
        """(idle, busy) SMTP connections of every loop's sender, for the metrics."""
        pools = [sender.connections for sender in list(self._senders.values())]
        return sum(idle for idle, _ in pools), sum(busy for _, busy in pools)

    async def aclose(self) -> None:
        """Close the clients of the running loop."""
        loop_id = id(asyncio.get_running_loop())
        if (sender := self._senders.pop(loop_id, None)) is not None:
            await sender.close()
        if (store := self._stores.pop(loop_id, None)) is not None:
            await store.close()
