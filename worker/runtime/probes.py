"""The HTTP side of a `run` process on METRICS_PORT: `/metrics` (Prometheus), `/healthz` (the
process is alive) and `/readyz` (it can do its work), each probe with a JSON body saying why.

- `/healthz`: the actors' event loop answers, and the scheduler and the Redis watch have looked
  lately, or are waiting for a Redis that does not answer. A Redis or relay outage does not make
  a process unhealthy (restarting it would not help: it waits and resumes by itself; a stalled
  Redis holds a loop in its command with no end); a wedged thread does.
- `/readyz`: Redis answers now and its policy is `noeviction` (asked at each probe, with a short
  timeout), and the relay set up a session lately or at its last attempt. When nothing was sent
  for `RELAY_RECHECK_S`, the probe sets up a session itself (EHLO, TLS, AUTH as configured, QUIT),
  within `RELAY_PROBE_TIMEOUT_S` in all; a probe that comes while another sets one up does not
  wait for it: it answers from what was last heard.

One port per process: several `run` processes on one machine each get their own METRICS_PORT
(README, "Operations").
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis
import redis.exceptions
from dramatiq.asyncio import get_event_loop_thread
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from worker.errors import InvoiceWorkerError
from worker.services.context import ServiceContext
from worker.store.redis_urls import mask_url
from worker.store.store import SAFE_MAXMEMORY_POLICIES, unsafe_policy_message
from worker.transport.smtp import SmtpSender

log = logging.getLogger(__name__)

#: Longest a probe waits for Redis, and for the event loop to turn (s).
REDIS_PROBE_TIMEOUT_S = 1.0
LOOP_PROBE_TIMEOUT_S = 2.0
#: A relay heard from longer ago than this is asked again by the probe itself (s).
RELAY_RECHECK_S = 60.0
#: ... and one that failed, after this long (s); the probe's own session, every step, within (s):
RELAY_RETRY_S = 5.0
RELAY_PROBE_TIMEOUT_S = 5.0


class MetricsUnavailable(InvoiceWorkerError):
    """The probes' server cannot listen where METRICS_HOST and METRICS_PORT say."""


class MetricsPortInUse(MetricsUnavailable):
    """METRICS_PORT is taken (by another `run` on this machine, most likely)."""


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


class Probes:
    """What `/healthz` and `/readyz` look at, for one process."""

    def __init__(self, app: ServiceContext, loops: dict[str, Callable[[], float | None]], *, stall_s: float) -> None:
        """`loops`: each loop's name and when it last went round (time.monotonic(), None: not yet)."""
        self.app = app
        self.loops = loops
        self.stall_s = stall_s
        self._redis = redis.Redis.from_url(
            app.redis_url or "", socket_timeout=REDIS_PROBE_TIMEOUT_S, socket_connect_timeout=REDIS_PROBE_TIMEOUT_S
        )
        self._where = mask_url(app.redis_url or "")
        self._relay_probe = threading.Lock()

    def close(self) -> None:
        self._redis.close()

    # -- /healthz --------------------------------------------------------------------------

    def health(self) -> dict[str, Check]:
        return {"event_loop": self._event_loop(), **self.loops_health()}

    def loops_health(self) -> dict[str, Check]:
        """Each loop went round lately, or is waiting for a Redis that does not answer now."""
        rounds = {name: at() for name, at in self.loops.items()}
        checks = {name: self._beat(name.replace("_", " ").replace("redis", "Redis"), at) for name, at in rounds.items()}
        now = time.monotonic()
        stalled = [name for name, at in rounds.items() if at is not None and now - at > self.stall_s]
        if stalled and (unanswered := self._redis_unanswered()) is not None:
            for name in stalled:
                checks[name] = Check(True, f"{checks[name].detail}; waiting for Redis: {unanswered}")
        return checks

    def _redis_unanswered(self) -> str | None:
        """Why Redis does not answer now, or None when it does."""
        try:
            self._redis.ping()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            return f"Redis at {self._where} does not answer ({type(exc).__name__})"
        return None

    def _event_loop(self) -> Check:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return Check(False, "the actors' event loop is not running")
        started = time.monotonic()
        try:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop_thread.loop).result(LOOP_PROBE_TIMEOUT_S)
        except TimeoutError:
            return Check(False, f"the actors' event loop did not turn within {LOOP_PROBE_TIMEOUT_S:g} s")
        return Check(True, f"the actors' event loop turned in {(time.monotonic() - started) * 1000:.1f} ms")

    def _beat(self, name: str, at: float | None) -> Check:
        if at is None:
            return Check(False, f"the {name} has not started")
        ago = time.monotonic() - at
        if ago > self.stall_s:
            return Check(False, f"the {name} last went round {ago:.0f} s ago (stalled: more than {self.stall_s:g} s)")
        return Check(True, f"the {name} went round {ago:.1f} s ago")

    # -- /readyz ---------------------------------------------------------------------------

    def readiness(self) -> dict[str, Check]:
        return {"redis": self._redis_check(), "relay": self._relay_check()}

    def _redis_check(self) -> Check:
        try:
            policy = self._redis.config_get("maxmemory-policy").get("maxmemory-policy")
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            return Check(False, f"Redis at {self._where} does not answer ({type(exc).__name__})")
        except redis.exceptions.ResponseError as exc:
            return Check(False, f"Redis at {self._where} refused CONFIG GET maxmemory-policy: {exc}")
        policy = policy.decode() if isinstance(policy, bytes) else str(policy)
        if policy not in SAFE_MAXMEMORY_POLICIES:
            return Check(False, unsafe_policy_message(policy))
        held = self.app.outcomes.held
        if held:
            return Check(False, f"Redis answers; {held} outcomes held since an outage are being written")
        return Check(True, f"Redis at {self._where} answers, maxmemory-policy {policy}")

    def _relay_check(self) -> Check:
        health = self.app.relay_health
        # One session at a time; a probe that comes meanwhile answers from what was last heard.
        if self._relay_probe.acquire(blocking=False):
            try:
                last = health.last
                age = None if last is None else time.time() - last.at
                if last is None or age is None or age > RELAY_RECHECK_S or (not last.ok and age > RELAY_RETRY_S):
                    asyncio.run(probe_relay(self.app))
            finally:
                self._relay_probe.release()
        return relay_verdict(self.app, time.time())


async def probe_relay(app: ServiceContext, timeout_s: float = RELAY_PROBE_TIMEOUT_S) -> None:
    """Set up one session with the relay, within `timeout_s` in all, and record how it went."""
    config = replace(app.smtp, timeout_s=min(app.smtp.timeout_s, timeout_s))
    sender = SmtpSender(config, app.relay_health)
    try:
        await asyncio.wait_for(sender.probe(), timeout_s)
    except TimeoutError:
        app.relay_health.failed(f"no session set up within {timeout_s:g} s")
    finally:
        await sender.close()


def relay_verdict(app: ServiceContext, now: float) -> Check:
    """Ready when the relay set up a session within `RELAY_RECHECK_S`, or at its last attempt."""
    health, relay = app.relay_health, f"{app.smtp.host}:{app.smtp.port}"
    last, last_ok_at = health.last, health.last_ok_at
    if last is None:
        return Check(False, f"relay {relay}: not tried yet")
    if last.ok:
        return Check(True, f"relay {relay} set up a session {now - last.at:.0f} s ago")
    if last_ok_at is not None and now - last_ok_at <= RELAY_RECHECK_S:
        return Check(
            True, f"relay {relay} set up a session {now - last_ok_at:.0f} s ago (then failed once: {last.detail})"
        )
    return Check(False, f"relay {relay}: {last.detail} ({now - last.at:.0f} s ago)")


def _body(checks: dict[str, Check], good: str, bad: str) -> tuple[int, dict[str, Any]]:
    ok = all(check.ok for check in checks.values())
    return (200 if ok else 503), {"status": good if ok else bad, "checks": {k: c.as_json() for k, c in checks.items()}}


class ProbeServer:
    """The HTTP server on its own threads (one per request)."""

    def __init__(
        self, app: ServiceContext, probes: Probes, *, host: str, port: int, before_scrape: Callable[[], None]
    ) -> None:
        self.app = app
        self.probes = probes
        handler = _handler(self, before_scrape)
        try:
            self.server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise MetricsPortInUse(
                    f"cannot listen on METRICS_PORT {port} ({exc.strerror}): give each `run` process on a "
                    "machine its own METRICS_PORT"
                ) from None
            raise MetricsUnavailable(
                f"cannot listen on METRICS_HOST {host!r}, METRICS_PORT {port}: {exc.strerror or exc}"
            ) from None
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="invoice-worker-probes", daemon=True)
        self._thread.start()
        log.info("metrics and health on port %d: /metrics /healthz /readyz", self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.probes.close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler(server: ProbeServer, before_scrape: Callable[[], None]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        #: A client that connects and says nothing holds its thread this long at most (s).
        timeout = 10

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                before_scrape()
                self._reply(200, CONTENT_TYPE_LATEST, generate_latest(server.app.metrics.registry))
            elif path == "/healthz":
                self._json(*_body(server.probes.health(), "alive", "stalled"))
            elif path == "/readyz":
                self._json(*_body(server.probes.readiness(), "ready", "not ready"))
            else:
                self._json(404, {"status": "not found", "paths": ["/metrics", "/healthz", "/readyz"]})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._reply(status, "application/json", json.dumps(body, indent=2).encode() + b"\n")

        def _reply(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("probe %s", format % args)  # a probe every few seconds is not news

    return Handler
