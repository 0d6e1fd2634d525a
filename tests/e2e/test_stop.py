"""Stopping `invoice-worker run` on its embedded defaults as a person does, with Ctrl-C (SIGINT to
the terminal's whole process group): it stops cleanly, says nothing about an outage, and leaves
no Redis running."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.support.cli import start_embedded_run, wait_for
from worker.dev.environment import STATE_FILE


def test_ctrl_c_stops_the_worker_and_its_embedded_redis_without_an_outage_warning(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    # Given `run` on embedded defaults in a process group of its own, as a terminal starts it
    worker = start_embedded_run(tmp_path, log)
    try:
        redis_pid = json.loads((tmp_path / "var" / "redis" / STATE_FILE).read_text())["pid"]
        time.sleep(1)  # let it take work: the scheduler, the Redis watch and the probes go round
        # When Ctrl-C is pressed: SIGINT to the whole group
        os.killpg(worker.pid, signal.SIGINT)
        assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    # Then it said nothing about Redis going away, and its Redis is gone too
    text = log.read_text()
    assert "Redis unreachable" not in text and "WARNING" not in text, text
    wait_for(lambda: not _alive(redis_pid), timeout_s=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
