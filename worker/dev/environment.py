"""Resolve the embedded defaults: with no REDIS_URL an embedded Redis (and, with no SEALING_KEY,
a sealing key made once and kept in a file beside its data directory, never in Redis), with no
SMTP_HOST a local SMTP server writing .eml files. Several commands share one embedded Redis per
data directory: the first starts it and stops it when done, the others find it through a small
state file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis

from worker.dev.embedded_redis import start_embedded_redis
from worker.dev.local_smtp import LocalSmtpServer
from worker.settings import Settings
from worker.store.cipher import write_new_key_file

log = logging.getLogger(__name__)

STATE_FILE = "embedded.json"
#: The embedded Redis's sealing key: `<data dir>.sealing-key`, beside the data directory rather
#: than in it, so that a copy of the data (the AOF) does not carry the key that opens it.
KEY_FILE_SUFFIX = ".sealing-key"


def embedded_key_file(data_dir: Path) -> Path:
    """The sealing key of the embedded Redis on `data_dir`, made (mode 0600) on first use."""
    data_dir = data_dir.resolve()
    path = data_dir.with_name(data_dir.name + KEY_FILE_SUFFIX)
    if write_new_key_file(path):
        log.info("made a sealing key for the embedded Redis: %s", path)
    return path


def _running_embedded(data_dir: Path) -> str | None:
    """The URL of an embedded Redis another command already runs on this directory, if any."""
    state = data_dir / STATE_FILE
    try:
        info = json.loads(state.read_text())
        os.kill(info["pid"], 0)
        url = f"redis://127.0.0.1:{info['port']}/0"
        client = redis.Redis.from_url(url, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return url
    except (OSError, ValueError, KeyError, redis.RedisError):
        return None


@contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = _running_embedded(data_dir)
    if url is not None:
        yield url
        return
    server = start_embedded_redis(data_dir)
    state = data_dir / STATE_FILE
    state.write_text(json.dumps({"pid": server.pid, "port": server.port}))
    log.info("embedded Redis on %s (data in %s)", server.url, data_dir)
    try:
        yield server.url
    finally:
        with suppress(OSError):
            state.unlink()
        server.stop()


@contextmanager
def resolved_environment(settings: Settings, *, need_smtp: bool = True) -> Iterator[Settings]:
    """The settings with REDIS_URL and SMTP_HOST filled in by embedded servers where unset."""
    with _maybe_redis(settings) as redis_url, _maybe_smtp(settings, need_smtp) as smtp:
        update: dict = {"redis_url": redis_url}
        if not settings.redis_url and settings.sealing_key is None and settings.sealing_key_file is None:
            update["sealing_key_file"] = embedded_key_file(settings.embedded_redis_dir)
        if smtp is not None:
            update.update(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_tls="none")
        yield settings.model_copy(update=update)


@contextmanager
def _maybe_redis(settings: Settings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
    else:
        with embedded_redis(settings.embedded_redis_dir) as url:
            yield url


@contextmanager
def _maybe_smtp(settings: Settings, need_smtp: bool) -> Iterator[LocalSmtpServer | None]:
    if settings.smtp_host or not need_smtp:
        yield None
        return
    server = LocalSmtpServer(settings.eml_dir)
    server.start()
    log.info("local SMTP server on 127.0.0.1:%s writing .eml files to %s", server.port, settings.eml_dir)
    try:
        yield server
    finally:
        server.stop()
