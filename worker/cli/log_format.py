"""The log format of every command: one record, one line, whatever its values hold.

An event id with CR LF and a fake log prefix, say, would otherwise print a forged log line; the
formatter escapes control characters in the record's final text, message and exception text
alike (`worker.services.printable`), so a traceback too is one line, with ``\\n`` between its lines.
"""

from __future__ import annotations

import logging

from worker.services.printable import printable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """A `logging.Formatter` whose every record is one line with its control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))
