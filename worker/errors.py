"""One error tree, split by what the caller should do.

Permanent errors are never retried: the event or email is dead-lettered with the reason.
Transient errors are retried with backoff.

    InvoiceWorkerError
    ├── PermanentError
    │   ├── InvalidEvent (also a ValueError)
    │   ├── TemplateMissing (also a LookupError)
    │   ├── HeaderInjection (also a ValueError)
    │   ├── UnsafeSmtpConfiguration
    │   ├── UnsafeBounceConfiguration
    │   └── UnsafeRedis
    └── TransientError
        └── PrerequisiteMissing

Other layers may add leaves of their own under PermanentError or TransientError (the email
kinds do: a business record an email needs is missing).
"""

from __future__ import annotations


class InvoiceWorkerError(Exception):
    """Base class for every error this service raises on purpose."""


class PermanentError(InvoiceWorkerError):
    """Retrying cannot help: dead-letter with the reason."""


class TransientError(InvoiceWorkerError):
    """Retrying later may help."""


class InvalidEvent(PermanentError, ValueError):
    """An event breaks the contract."""

    def __init__(self, event_id: str | None, field: str, reason: str) -> None:
        self.event_id = event_id or "?"
        self.field = field
        self.reason = reason
        super().__init__(f"event {self.event_id}: {field}: {reason}")


class TemplateMissing(PermanentError, LookupError):
    def __init__(self, kind: str, locale: str) -> None:
        self.kind = kind
        self.locale = locale
        super().__init__(f"no email template for kind {kind!r} in locale {locale!r}")


class HeaderInjection(PermanentError, ValueError):
    """A name, subject or address holds a line break: refused before any network I/O."""

    def __init__(self, header: str) -> None:
        self.header = header
        super().__init__(f"line break in the {header} header refused")


class UnsafeSmtpConfiguration(PermanentError):
    """Credentials would travel in plaintext, or TLS is asked for without verification."""


class UnsafeBounceConfiguration(PermanentError):
    """Bounces are enabled without the secret that authenticates their return paths."""


class UnsafeRedis(PermanentError):
    """The Redis server may evict keys: the store would silently lose state."""


class PrerequisiteMissing(TransientError):
    """An event needs another that has not arrived yet (events may come out of order): retried,
    at `retry_at` (Unix seconds) when the event knows when that will be (a month's end), else
    every PARKED_RETRY_S."""

    def __init__(self, message: str, *, retry_at: float | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at
