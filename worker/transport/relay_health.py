"""What a process last heard from its SMTP relay, for `/readyz`: shared by the process's senders
(one per event loop), written on every session set-up, read from the probe's thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RelayAttempt:
    #: Unix seconds.
    at: float
    ok: bool
    #: What went wrong (a reply, or the connection error), without credentials; "" when ok.
    detail: str = ""


class RelayHealth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: RelayAttempt | None = None
        self._last_ok_at: float | None = None

    def succeeded(self, at: float | None = None) -> None:
        now = time.time() if at is None else at
        with self._lock:
            self._last = RelayAttempt(now, True)
            self._last_ok_at = now

    def failed(self, detail: str, at: float | None = None) -> None:
        with self._lock:
            self._last = RelayAttempt(time.time() if at is None else at, False, detail)

    @property
    def last(self) -> RelayAttempt | None:
        with self._lock:
            return self._last

    @property
    def last_ok_at(self) -> float | None:
        with self._lock:
            return self._last_ok_at
