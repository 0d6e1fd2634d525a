"""The services one process works with, built once from the settings and passed in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.domain.delivery import RetryPolicy
from worker.settings import Settings
from worker.store.keys import Keys
from worker.store.store import Store
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
    )


@dataclass
class App:
    """Settings, clock and the per-event-loop clients (Redis, SMTP) of one process."""

    settings: Settings
    clock: Callable[[], datetime] = utc_now
    _stores: dict[int, Store] = field(default_factory=dict, repr=False)
    _senders: dict[int, SmtpSender] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.smtp = smtp_config(self.settings)
        self.smtp.check()
        self.keys = Keys(self.settings.redis_prefix)
        self.retry_policy = RetryPolicy(
            first_s=self.settings.retry_first_s,
            max_s=self.settings.retry_max_s,
            give_up_s=self.settings.retry_give_up_s,
        )

    @property
    def store(self) -> Store:
        """The Store of the running event loop (an asyncio Redis client belongs to one loop)."""
        loop_id = id(asyncio.get_running_loop())
        store = self._stores.get(loop_id)
        if store is None:
            assert self.settings.redis_url, "redis_url must be resolved before the app starts"
            store = self._stores[loop_id] = Store.from_url(self.settings.redis_url, prefix=self.settings.redis_prefix)
        return store

    @property
    def sender(self) -> SmtpSender:
        loop_id = id(asyncio.get_running_loop())
        sender = self._senders.get(loop_id)
        if sender is None:
            sender = self._senders[loop_id] = SmtpSender(self.smtp)
        return sender

    async def aclose(self) -> None:
        """Close the clients of the running loop."""
        loop_id = id(asyncio.get_running_loop())
        if (sender := self._senders.pop(loop_id, None)) is not None:
            await sender.close()
        if (store := self._stores.pop(loop_id, None)) is not None:
            await store.close()
