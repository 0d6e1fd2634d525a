"""Redis faults said in one line (worker/cli/redis_faults.py), the password never shown. Pure."""

from __future__ import annotations

import pytest
import redis

from worker.cli.redis_faults import describe


@pytest.mark.parametrize(
    ("exc", "what"),
    [
        (redis.ConnectionError("Error 111 connecting to h:6379. Connection refused."), "is unreachable"),
        (redis.TimeoutError("Timeout reading from h:6379"), "is unreachable"),
        (redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "is full"),
        (redis.exceptions.ReadOnlyError("You can't write against a read only replica."), "is a read-only replica"),
    ],
)
def test_a_fault_is_one_line_naming_the_server_and_what_it_did(exc, what):
    line = describe(exc, "redis://:s3cret@h:6379/0")
    assert line.startswith(f"Redis at redis://:***@h:6379/0 {what}") and str(exc) in line
    assert "s3cret" not in line and "\n" not in line
