"""The SMTP servers the benchmark sends to, each in its own process, each telling what arrived
(arrival time, Message-ID, recipient count) so the run can check that every email came once:

- `smtp-sink`, Postfix's C SMTP server (Debian package `postfix`), when it is installed: it costs
  the machine little, so the raw send limit against it is the client's, not the server's. It
  dumps each message to a file of its own (`-d`) on a tmpfs; only their headers are read back.
- the aiosmtpd sink of `bench.sink` (~4-5 ms of CPU per ~60 KB message): the fallback, and the second
  baseline the README's earlier figures were measured against.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.processes import BenchFailed, start_sink, stop_process, wait_for
from bench.sink import message_id_of, read_log
from worker.dev.local_smtp import find_free_port

C_SINK = "smtp-sink"
PYTHON_SINK = "aiosmtpd sink"
#: smtp-sink's listen backlog; the workers and the raw send open a handful of connections each.
C_SINK_BACKLOG = 256
#: Where smtp-sink's dumps go: memory, so that writing them costs the sink no disk I/O.
SHM = Path("/dev/shm")
#: Bytes of each dump read back: smtp-sink's X- lines, the Received line and our header block.
DUMP_HEAD_BYTES = 16_384


@dataclass
class Sink:
    name: str
    host: str
    port: int
    pid: int
    #: (arrival time, Message-ID, recipients) of every message received so far.
    arrivals: Callable[[], list[tuple[float, str, int]]]
    #: How many messages have been received (cheaper than `arrivals`).
    count: Callable[[], int]
    #: Forget what arrived (between the pipeline's run and the raw send).
    clear: Callable[[], None]


def find_smtp_sink() -> str | None:
    """smtp-sink's path: on PATH, or in /usr/sbin where Debian puts it (not on a user's PATH)."""
    return shutil.which(C_SINK) or shutil.which(C_SINK, path="/usr/sbin:/usr/local/sbin")


def start_c_sink(stack: ExitStack, executable: str) -> Sink:
    dump_dir = Path(tempfile.mkdtemp(prefix="iw-bench-sink-", dir=SHM if SHM.is_dir() else None))
    stack.callback(shutil.rmtree, dump_dir, True)
    os.chmod(dump_dir, 0o777)  # run as root, smtp-sink drops to `nobody` (-u), who writes the dumps
    port = find_free_port()
    # -a: no AUTH offered (as the aiosmtpd sink); dumps named by time plus smtp-sink's random suffix
    command = [executable, "-a", "-d", f"{dump_dir}/%H%M%S.", f"127.0.0.1:{port}", str(C_SINK_BACKLOG)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stack.callback(stop_process, sink)
    wait_for(lambda: _listening(port) or sink.poll() is not None, 10, "smtp-sink to listen")
    if sink.poll() is not None:
        raise BenchFailed(f"smtp-sink did not start: {sink.stderr.read().decode() if sink.stderr else ''}")

    def arrivals() -> list[tuple[float, str, int]]:
        out = []
        for entry in os.scandir(dump_dir):
            with open(entry.path, "rb") as f:
                head = f.read(DUMP_HEAD_BYTES)
            smtp_lines, _, message = head.partition(b"\nReceived: ")
            rcpts = smtp_lines.count(b"X-Rcpt-Args:")
            out.append((entry.stat().st_mtime, message_id_of(message.replace(b"\n", b"\r\n")), rcpts))
        return out

    def clear() -> None:
        for entry in os.scandir(dump_dir):
            os.unlink(entry.path)

    return Sink(C_SINK, "127.0.0.1", port, sink.pid, arrivals, lambda: len(os.listdir(dump_dir)), clear)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        time.sleep(0.05)
        return False


def start_python_sink(stack: ExitStack, work_dir: Path) -> Sink:
    log = work_dir / f"sink-{time.monotonic_ns()}.log"
    log.touch()
    port, pid = start_sink(stack, log)
    marks = [0]  # lines of the log before the last clear()

    def arrivals() -> list[tuple[float, str, int]]:
        return read_log(log)[marks[0] :]

    def clear() -> None:
        marks[0] = len(read_log(log))

    return Sink(PYTHON_SINK, "127.0.0.1", port, pid, arrivals, lambda: len(arrivals()), clear)


def start_named(stack: ExitStack, name: str, work_dir: Path) -> Sink:
    if name == C_SINK:
        executable = find_smtp_sink()
        if executable is None:
            raise BenchFailed("smtp-sink is not installed (Debian: apt-get install postfix)")
        return start_c_sink(stack, executable)
    return start_python_sink(stack, work_dir)
