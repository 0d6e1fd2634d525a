"""Run `invoice-worker` as an operator does: a separate process with its own environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.sealing import TEST_SEALING_KEY

CLI = [sys.executable, "-m", "worker.cli"]


def cli_env(redis_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS_", "SEALING_"))}
    # Secrets are sealed in Redis with it (worker/store/cipher.py); `extra` may set another.
    env["SEALING_KEY"] = TEST_SEALING_KEY
    env.update(
        REDIS_URL=redis_url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TLS="none",
        SCHEDULER_INTERVAL_S="0.05",
        # Events of one order are gathered this long before a window is looked at (default 2 s).
        EVENT_GATHER_S="0.2",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def invoke(
    args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, env=env, input=stdin, capture_output=True, text=True, timeout=timeout)


def jsonl(events: list) -> str:
    return "\n".join(e if isinstance(e, str) else json.dumps(e) for e in events) + "\n"


def wait_for(predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def sigkill_worker_when(env: dict[str, str], condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Start `invoice-worker run`, and SIGKILL it (no chance to clean up) once `condition` holds."""
    worker = subprocess.Popen(CLI + ["run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(condition, timeout_s)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()


def start_embedded_run(cwd: Path, log: Path) -> subprocess.Popen:
    """`invoice-worker run` on embedded defaults (no SMTP_, REDIS_, SEALING_, METRICS_ nor MALLOC_
    settings of this environment), in a process group of its own as a terminal starts it, its
    log in `log`; returned once its local SMTP server is up."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS_", "SEALING_", "METRICS_", "MALLOC_"))
    }
    env["LOG_LEVEL"] = "INFO"
    with open(log, "w") as out:
        worker = subprocess.Popen(CLI + ["run"], cwd=cwd, env=env, stderr=out, start_new_session=True)
    try:
        wait_for(lambda: "local SMTP server on" in log.read_text(), timeout_s=60)
    except BaseException:
        worker.kill()
        worker.wait()
        raise
    return worker
