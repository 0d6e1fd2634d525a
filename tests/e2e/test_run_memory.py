"""`invoice-worker run` keeps its threads' memory in two malloc arenas (worker/runtime/malloc_arenas.py)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.support.cli import start_embedded_run, wait_for

#: glibc reserves each arena beyond the main one as a heap of 64 MiB, aligned to its size: a
#: read-write start followed by the rest of the reservation, inaccessible (arena.c, HEAP_MAX_SIZE).
HEAP_RESERVATION = 64 << 20


def test_run_keeps_its_threads_memory_in_two_arenas(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    # Given `run` on embedded defaults, with its dramatiq threads, scheduler and Redis watch up
    worker = start_embedded_run(tmp_path, log)
    try:
        wait_for(lambda: _threads(worker.pid) >= 10, timeout_s=30)
        # When its memory map is read, then glibc keeps one heap beside the main arena
        # (without the cap: one per thread, 15 with 17 threads on this machine)
        assert _arena_heaps(worker.pid) <= 1
    finally:
        os.killpg(worker.pid, signal.SIGINT)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))


def _arena_heaps(pid: int) -> int:
    regions = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        start, end = (int(address, 16) for address in fields[0].split("-"))
        regions.append((start, end, fields[1], fields[5] if len(fields) > 5 else ""))
    heaps = 0
    for (start, end, mode, name), after in zip(regions, [*regions[1:], None], strict=True):
        if name or start % HEAP_RESERVATION or not mode.startswith("rw"):
            continue
        if after is not None and after[0] == end and after[2] == "---p" and not after[3]:
            end = after[1]
        heaps += end - start == HEAP_RESERVATION
    return heaps
