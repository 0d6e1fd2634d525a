"""The log format (worker/cli/log_format.py): one record is one line, whatever its values hold. Pure."""

from __future__ import annotations

import logging
import sys

from worker.cli.log_format import LOG_FORMAT, OneLineFormatter

FORGED = "2026-12-01 00:00:00,000 INFO invoice-worker: payment received"


def record(msg: str, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("worker.test", logging.ERROR, __file__, 1, msg, args, exc_info)


def test_a_value_with_cr_lf_and_a_fake_log_prefix_stays_on_its_record_line():
    # Given a record whose argument holds CR LF followed by what looks like a log line
    line = OneLineFormatter(LOG_FORMAT).format(record("rejected event %s", f"e9\r\n{FORGED}\x00"))
    # Then it is one line, the break and the NUL shown escaped
    assert line.splitlines() == [line]
    assert line.endswith(f"ERROR worker.test: rejected event e9\\r\\n{FORGED}\\x00")


def test_a_traceback_is_one_line_too():
    try:
        raise ValueError(f"bad id e9\n{FORGED}")
    except ValueError:
        exc_info = sys.exc_info()
    line = OneLineFormatter(LOG_FORMAT).format(record("failed", exc_info=exc_info))
    assert line.splitlines() == [line]
    assert "failed\\nTraceback (most recent call last):\\n" in line
    assert f"ValueError: bad id e9\\n{FORGED}" in line
