"""A redis-server of one test, durable as production should be (AOF, fsync on every write), that
the test restarts, crashes (SIGKILL) or stalls on purpose, always on the same port."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from worker.dev.embedded_redis import find_free_port, redis_server_binary

#: How long a fresh server may take to answer PING (s).
READY_TIMEOUT_S = 10.0


class DurableRedis:
    """redis-server on 127.0.0.1:`port` with `appendonly yes`, `appendfsync always` in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or find_free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._stalls: list[threading.Thread] = []

    def url(self, **query: float) -> str:
        """The server's URL; `query` adds redis-py connection options (e.g. socket_timeout)."""
        options = "&".join(f"{k}={v}" for k, v in query.items())
        return f"redis://127.0.0.1:{self.port}/0" + (f"?{options}" if options else "")

    def client(self) -> redis.Redis:
        # No retries: SHUTDOWN closes the connection under it, and redis-py would retry for seconds.
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, retry=Retry(NoBackoff(), 0))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--maxmemory-policy", "noeviction",
        ]  # fmt: skip
        with (self.data_dir / "redis-server.log").open("ab") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5) as probe:
                    if probe.ping():
                        return
            except redis.RedisError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start (see {self.data_dir})")
            time.sleep(0.02)

    def stop(self) -> None:
        """SHUTDOWN (the AOF is fsynced at every write anyway) and reap the process."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            with self.client() as client:
                client.shutdown(nosave=True)
        except redis.RedisError:
            pass  # SHUTDOWN closes the connection under the client
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def crash(self) -> None:
        """SIGKILL: no shutdown, what is on disk is what the AOF fsynced."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, *, down_s: float = 0.0, crash: bool = False) -> None:
        """Stop (or crash), stay down `down_s`, start again on the same port and directory."""
        self.crash() if crash else self.stop()
        time.sleep(down_s)
        self.start()

    def stall(self, seconds: float) -> None:
        """Make the server answer nobody for `seconds` (DEBUG SLEEP, on a thread of its own)."""

        def sleep() -> None:
            with redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=seconds + 5) as client:
                client.execute_command("DEBUG", "SLEEP", seconds)

        thread = threading.Thread(target=sleep, daemon=True)
        thread.start()
        self._stalls.append(thread)

    def config_set(self, name: str, value: str) -> None:
        with self.client() as client:
            client.config_set(name, value)

    def __enter__(self) -> DurableRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for thread in self._stalls:
            thread.join(timeout=30)
        self.stop()
