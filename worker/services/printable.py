"""Text from events and replies made safe to print on one line: no value can start a line of
its own (a forged log entry or report line) or reorder what a terminal shows.

Control characters (C0 including CR, LF, TAB and NUL; DEL; C1), the Unicode line and paragraph
separators, the byte order mark and the bidirectional marks, embeddings, overrides and isolates
are shown escaped, as Python writes them: ``\\r``, ``\\n``, ``\\t``, ``\\x00``, ``\\u202e``.
Backslashes are left as they are: a literal ``\\n`` in a value is ambiguous to read, but it
cannot make a line.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, separator and bidi character escaped: one line, shown in order."""
    return _UNPRINTABLE.sub(_escape, text)
