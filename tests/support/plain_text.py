"""The plain-text part as a reader takes it in, for tests that look for a sentence in it."""

from __future__ import annotations

import re

# A line break and the indent around it: the wrapper breaks sentences at 76 columns.
_LINE_BREAK = re.compile(r"[ \t\r]*\n[ \t]*")


def unwrapped(text: str) -> str:
    """``text`` with its line breaks as single spaces, so a wrapped sentence reads whole again."""
    return _LINE_BREAK.sub(" ", text)
