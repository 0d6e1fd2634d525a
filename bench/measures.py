"""What the benchmark reads off the machine and its processes: CPU, memory, Redis commands."""

from __future__ import annotations

import os
import platform
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def redis_command_calls(url: str) -> Counter:
    """Calls per command so far (INFO commandstats), to count round trips per email."""

    client = redis.Redis.from_url(url)
    try:
        return Counter(
            {name.removeprefix("cmdstat_"): stats["calls"] for name, stats in client.info("commandstats").items()}
        )
    finally:
        client.close()


#: A process is quiet when it used less than this share of a core over `QUIET_WINDOW_S`.
QUIET_SHARE = 0.05
QUIET_WINDOW_S = 1.0


def wait_until_quiet(pids: list[int], timeout_s: float) -> None:
    """Return once every process in `pids` has been (nearly) idle for `QUIET_WINDOW_S`, or after
    `timeout_s` (the figures then include what it was still doing)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        before = [cpu_s(pid) or 0.0 for pid in pids]
        time.sleep(QUIET_WINDOW_S)
        after = [cpu_s(pid) or 0.0 for pid in pids]
        if all(b - a < QUIET_SHARE * QUIET_WINDOW_S for a, b in zip(before, after, strict=True)):
            return
