"""How often an alert is logged: a wrong SMTP password defers every email, and one ERROR line per
delivery attempt would bury the log (a thousand invoices, a thousand lines). Each alert name is
logged at most once per `ALERT_LOG_INTERVAL_S` per process; the next line says how many were held
back. Every occurrence is still counted in Redis (`store.alerts`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

#: Shortest time between two ERROR lines of one alert name in one process (s).
ALERT_LOG_INTERVAL_S = 60.0


@dataclass
class AlertLog:
    """Per process (the `ServiceContext` carries one), shared by its threads."""

    interval_s: float = ALERT_LOG_INTERVAL_S
    _last: dict[str, float] = field(default_factory=dict)
    _held: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def should_log(self, name: str, now: float) -> int | None:
        """None: hold this one back. Else log it, with the count of those held back since the last."""
        with self._lock:
            last = self._last.get(name)
            if last is not None and now - last < self.interval_s:
                self._held[name] = self._held.get(name, 0) + 1
                return None
            self._last[name] = now
            return self._held.pop(name, 0)
