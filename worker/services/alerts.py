"""Alerts about the worker's own setup: the relay refused our credentials, our HELO name or our
TLS. Such a reply says nothing about the recipient (`worker.domain.delivery` defers the
recipient); it needs the operator. Each is logged at ERROR with its stable name and the relay
(never a credential), counted in Redis (`store.alerts`), which `invoice-worker status` shows, and
counted in the process's metrics (`invoice_worker_setup_alerts_total`), which the Prometheus
alert `InvoiceWorkerSetupRefused` watches. The one place alerts are raised and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from worker.domain.delivery import SmtpReply, classify_reply
from worker.services.context import ServiceContext
from worker.store.alerts import AlertCount
from worker.store.connection import REDIS_UNAVAILABLE
from worker.store.store import Store

log = logging.getLogger(__name__)


async def alert_on_setup_replies(
    app: ServiceContext, delivery_id: str, replies: Mapping[str, SmtpReply | None]
) -> list[str]:
    """Raise one alert per distinct setup problem among one attempt's replies; their names."""
    raised: dict[str, SmtpReply] = {}
    now = app.clock().timestamp()
    for reply in replies.values():
        if reply is None:
            continue
        verdict = classify_reply(reply)
        if verdict.alert is None or verdict.alert in raised:
            continue
        raised[verdict.alert] = reply
        app.metrics.setup_alerts.labels(verdict.alert).inc()
        held_back = app.alert_log.should_log(verdict.alert, now)
        if held_back is None:  # logged less than ALERT_LOG_INTERVAL_S ago; counted all the same
            continue
        log.error(
            "ALERT %s: relay %s:%s at %s: %s: %s (delivery %s deferred, not rejected)%s",
            verdict.alert,
            app.smtp.host,
            app.smtp.port,
            reply.stage or "session",
            verdict.reason,
            reply,
            delivery_id,
            f"; {held_back} more since the last line of this alert" if held_back else "",
        )
    try:
        for name in raised:
            await app.store.alerts.raise_alert(name, at=now)
    except REDIS_UNAVAILABLE as exc:
        # The count is a convenience; the attempt's outcomes, written next, are what must not be
        # lost (nothing was sent: the setup was refused before MAIL). The ERROR line stands.
        log.warning("could not count alerts %s (Redis unavailable: %s)", ", ".join(raised), type(exc).__name__)
    return list(raised)


async def collect_alerts(redis_url: str, prefix: str) -> list[AlertCount]:
    """Every alert raised so far on this Redis, for `invoice-worker status`."""
    async with Store.open(redis_url, prefix=prefix) as store:
        return await store.alerts.counts()


def format_alerts(alerts: list[AlertCount]) -> str:
    """The alerts for `status`: a few lines, empty when there is none."""
    if not alerts:
        return ""
    lines = ["alerts (the worker's own setup; see the log at ERROR):"]
    for alert in alerts:
        last = datetime.fromtimestamp(alert.last_at, UTC).isoformat(timespec="seconds")
        lines.append(f"    {alert.name:<20} {alert.count:>6}  last {last}")
    return "\n".join(lines)
