"""The log formats of every command: one record, one line, whatever its values hold; readable
text by default, or one JSON object a line (`LOG_FORMAT=json`) for a log pipeline.

An event id with CR LF and a fake log prefix, say, would otherwise print a forged log line; the
formatter escapes control characters in the record's final text, message and exception text
alike (`worker.services.printable`), so a traceback too is one line, with ``\\n`` between its lines.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from worker.services.log_context import log_context
from worker.services.printable import printable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """A `logging.Formatter` whose every record is one line with its control characters escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids of what the record is about
    (`event_id`, `delivery_id`, `kind`, `invoice_number` from `worker.services.log_context`) and
    the exception. JSON escapes every control character, so no value can forge a line; the
    message is the same text the readable format prints (secrets never reach it)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **log_context(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
