"""A worker's threads share two malloc arenas, so its memory follows its work, not its threads."""

from __future__ import annotations

import os
import subprocess
import sys

# Eight threads allocate at once, then glibc's malloc_stats() writes one "Arena N:" per arena.
_THREADS = """
import ctypes, sys, threading
from worker.runtime.malloc_arenas import cap_malloc_arenas
took = cap_malloc_arenas() if sys.argv[1] == "capped" else None
print(took, flush=True)
barrier = threading.Barrier(8)
def work():
    kept = [bytearray(100_000) for _ in range(4)]  # above pymalloc's size: from malloc
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
ctypes.CDLL(None).malloc_stats()
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run(
        [sys.executable, "-c", _THREADS, mode], capture_output=True, text=True, env=environ, check=True, timeout=60
    )
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_a_worker_s_threads_share_two_arenas() -> None:
    # Given eight threads that allocate at once, when the worker's cap is on, then glibc keeps
    # two arenas; without it, one per thread and the main one.
    took, capped = _arenas("capped")
    assert took == "True"
    assert capped == 2
    _, uncapped = _arenas("uncapped")
    assert uncapped > 2


def test_malloc_arena_max_in_the_environment_still_decides() -> None:
    # Given an operator's MALLOC_ARENA_MAX, when the worker starts, then it is left to glibc.
    took, arenas = _arenas("capped", MALLOC_ARENA_MAX="3")
    assert took == "False"
    assert arenas == 3
