"""Quoted-printable bodies (RFC 2045 6.7) for the MIME builder, the HTML part's fixed markup encoded once.

``binascii.b2a_qp`` does the encoding (76-character lines, ``=`` and non-ASCII escaped, trailing
whitespace escaped), but it costs ~10 ns a byte: ~0.2 ms for a 20 KB HTML part, most of it markup
that is the same in every email of a kind and locale. A body given as the pieces its template
wrote is encoded piece by piece instead: a long fixed piece (``str``) once, then from a cache;
the values between (``Markup`` from autoescaping) and short fixed pieces per email. Each encoded
piece ends with a soft line break (``=`` at the end of a line, which decodes to nothing), so the
next starts a line of its own: the decoded text is the same, the encoded one ~1% longer.

Line breaks are written ``\\n`` here and turned into CRLF once for the whole message. A lone CR
is taken as a line break, as HTML does: left to ``b2a_qp`` it would reach the wire as a bare CR.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from functools import lru_cache

#: Fixed pieces remembered; a kind in a locale writes ~20 long ones, so this holds every template's.
FIXED_PIECES_CACHED = 8192
#: Shorter fixed pieces are encoded with the values around them: a cached piece costs a lookup
#: and a soft break, and an encoder call for the values before it.
FIXED_PIECE_MIN_CHARS = 64
#: Longest encoded line, the soft-break "=" included (RFC 2045 6.7, rule 5).
MAX_LINE = 76

_SOFT_BREAK = b"=\n"


def quoted_printable(text: str) -> bytes:
    """``text`` in UTF-8 as quoted-printable, lines ending in ``\\n``."""
    encoded = binascii.b2a_qp(text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8"), istext=True)
    # b2a_qp escapes a space or tab that ends a line after it has measured the line, which can
    # then run past the limit ("...=3D=20"): only such lines need wrapping again.
    if b"=20\n" in encoded or b"=09\n" in encoded or encoded.endswith((b"=20", b"=09")):
        encoded = b"\n".join(_wrapped(line) for line in encoded.split(b"\n"))
    return encoded


def _wrapped(line: bytes) -> bytes:
    """An encoded line cut by soft breaks into lines of at most MAX_LINE, never inside an escape."""
    lines = []
    while len(line) > MAX_LINE:
        cut = MAX_LINE - 1
        cut -= 1 if line[cut - 1 : cut] == b"=" else 2 if line[cut - 2 : cut - 1] == b"=" else 0
        lines.append(line[:cut] + b"=")
        line = line[cut:]
    return b"\n".join([*lines, line])


def quoted_printable_parts(parts: Iterable[str]) -> bytes:
    """``"".join(parts)`` as quoted-printable, lines ending in ``\\n``; long fixed (``str``) pieces cached."""
    encoded: list[bytes] = []
    values: list[str] = []
    for part in parts:
        # A Markup (a str subclass) is a value from the template's context, not fixed text.
        if type(part) is str and len(part) >= FIXED_PIECE_MIN_CHARS:
            if values:
                _add_line_ending(encoded, "".join(values))
                values.clear()
            encoded.append(_fixed_piece(part))
        else:
            values.append(part)
    if values:
        _add_line_ending(encoded, "".join(values))
    # A soft break at the very end would leave a dangling "=" before the MIME boundary.
    if encoded:
        encoded[-1] = encoded[-1].removesuffix(_SOFT_BREAK)
    return b"".join(encoded)


@lru_cache(maxsize=FIXED_PIECES_CACHED)
def _fixed_piece(part: str) -> bytes:
    encoded: list[bytes] = []
    _add_line_ending(encoded, part)
    return b"".join(encoded)


def _add_line_ending(encoded: list[bytes], text: str) -> None:
    """Append ``text`` encoded, ending a line: with a soft line break unless it ends with a newline."""
    if not text:
        return
    if len(text) < MAX_LINE and text.isascii() and text.isprintable() and "=" not in text and text[-1:] != " ":
        # Printable ASCII that fits a line is its own encoding (an amount, a date, a name).
        encoded += (text.encode("ascii"), _SOFT_BREAK)
        return
    line = quoted_printable(text)
    if not line or line.endswith(b"\n"):
        encoded.append(line)
    elif len(line) - line.rfind(b"\n") - 1 < MAX_LINE:
        encoded += (line, _SOFT_BREAK)
    else:
        # The last line is full: its last character, or "=XX" escape, goes to a line of its own.
        cut = len(line) - (3 if line[-3:-2] == b"=" else 1)
        encoded += (line[:cut], _SOFT_BREAK, line[cut:], _SOFT_BREAK)
