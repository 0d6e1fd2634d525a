"""The benchmark's processes: the SMTP sink and the `invoice-worker run` workers, started and stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from worker.settings import Settings

#: The checkout: `python -m bench.sink` and the workers run from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Longest wait for a process to stop (s), and how often a condition is looked at (s).
STOP_TIMEOUT_S = 30.0
POLL_S = 0.1


class BenchFailed(RuntimeError):
    """The pipeline did not deliver what was expected (missing, duplicate or unaccepted emails)."""


def start_sink(stack: ExitStack, log_path: Path) -> tuple[int, int]:
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", "--log", str(log_path)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    stack.callback(stop_process, sink)
    ready = sink.stdout.readline().split() if sink.stdout else []
    if len(ready) != 2 or ready[0] != "ready":
        raise BenchFailed(f"the SMTP sink did not start: {ready!r}")
    return int(ready[1]), sink.pid


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_workers(stack: ExitStack, settings: Settings, count: int, log_dir: Path) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "REDIS_PREFIX": settings.redis_prefix,
        "SMTP_HOST": settings.smtp_host or "",
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_TLS": settings.smtp_tls,
        "MAIL_FROM": settings.mail_from,
        "LOG_LEVEL": "WARNING",
        # The workers open what the bench's ingest sealed: the same key.
        **({"SEALING_KEY": settings.sealing_key.get_secret_value()} if settings.sealing_key else {}),
    }
    workers = []
    for n in range(count):
        log = stack.enter_context(open(log_dir / f"worker-{n}.log", "w"))  # noqa: SIM115 - closed by the stack
        process = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "run"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        stack.callback(stop_process, process)
        workers.append(process)
    return workers


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchFailed(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)
