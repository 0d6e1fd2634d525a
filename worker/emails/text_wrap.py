"""The plain-text part wrapped to a width a mail client shows without scrolling (pure).

A paragraph of 300 characters on one line is shown as one long line by clients that do not
reflow, and is cut by some. Lines are wrapped at :data:`TEXT_WIDTH` display columns (RFC 5322
2.1.1 recommends 78 at most; 76 leaves room for a quoting "> "): between words where the text has
spaces (Korean included), between characters in Chinese and Japanese, which have none, never before closing
punctuation ("。", "、", "）") nor after opening punctuation ("（", "「"). A continuation line keeps
the indent of its item ("* ", "1. ", "  - "), so a wrapped list stays a list. Nothing is
broken inside a word: an invoice number, an IBAN or a URL longer than the width stays whole.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

#: The widest a line of the plain-text part may be, in display columns.
TEXT_WIDTH = 76

#: A space the wrapper must not break at (inside a formatted date: "5 March 2026"), written by
#: the text part's filters and turned back into a plain space by :func:`wrap_text` (a private-use
#: character: it never occurs in a catalog or a value).
UNBROKEN_SPACE = "\ue000"

#: Where a list item's text starts: its marker and spaces ("* ", "1. ", "  - ", "  ").
_ITEM = re.compile(r"^(\s*(?:[*•\-–]|\d+[.)])?\s*)")
#: Characters a line must not start with (East Asian line-breaking rules, JIS X 4051 "kinsoku").
_NO_LINE_START = frozenset(
    "、。，．・：；？！）」』】〕〉》”’ー々ゝゞ"  # closing punctuation and iteration marks
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"  # small kana
    ",.:;!?)]}%"
)
#: Characters a line must not end with.
_NO_LINE_END = frozenset("（「『【〔〈《“‘([{")
#: The bidi isolates around a value in right-to-left text (FSI, LRI, RLI ... PDI).
_ISOLATE_OPENERS, _PDI = frozenset("\u2066\u2067\u2068"), "\u2069"
#: Bidi marks and isolates: zero width.
_ZERO_WIDTH = frozenset("\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u200b")


def wrap_text(text: str, width: int = TEXT_WIDTH) -> str:
    """``text`` with every line wider than ``width`` columns wrapped (idempotent), and every
    :data:`UNBROKEN_SPACE` a space again."""
    lines = (wrapped for line in text.split("\n") for wrapped in _wrap_line(line, width))
    return "\n".join(lines).replace(UNBROKEN_SPACE, " ")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width font: East Asian wide characters take two."""
    if text.isascii():  # no wide, combining or zero-width character: one column each
        return len(text)
    return sum(map(_char_width, text))


@cache
def _char_width(ch: str) -> int:
    if ch in _ZERO_WIDTH or unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _wrap_line(line: str, width: int) -> list[str]:
    if display_width(line) <= width:
        return [line]
    indent = _ITEM.match(line).group(1)  # type: ignore[union-attr]  # the pattern matches "" too
    hanging = " " * display_width(indent)
    lines: list[str] = []
    rest, prefix = line[len(indent) :], indent
    while rest:
        room = width - display_width(prefix)
        head, rest = _split(rest, max(room, 1))
        lines.append(prefix + head)
        prefix = hanging
    return lines


def _split(text: str, room: int) -> tuple[str, str]:
    """The longest head of ``text`` that fits ``room`` columns, broken where a break may be, and
    the rest (its leading spaces dropped); a head longer than ``room`` where no break exists."""
    return _split_at_spaces(text, room) if _breaks_at_spaces_only(text) else _split_chars(text, room)


def _breaks_at_spaces_only(text: str) -> bool:
    """Whether every character of ``text`` is one column and breaks nowhere but at spaces (Latin,
    Cyrillic, Greek, Arabic, Hebrew, Thai letters ...): no wide or Hangul character, no isolate."""
    return text.isascii() or all(map(_narrow_letter, text))


@cache
def _narrow_letter(ch: str) -> bool:
    return _char_width(ch) == 1 and not _hangul(ch)  # width 1: neither wide nor full-width


def _split_chars(text: str, room: int) -> tuple[str, str]:
    """`_split`, character by character: any text."""
    columns, best, isolated = 0, 0, 0
    for index, ch in enumerate(text):
        columns += _char_width(ch)
        if columns > room and best:
            break
        isolated += (ch in _ISOLATE_OPENERS) - (ch == _PDI and isolated > 0)
        # Past the room with no break yet, the first break ends the head (a long word stays
        # whole); never inside a bidi isolate, which a line break would end.
        if not isolated and index + 1 < len(text) and _may_break_after(text, index):
            best = index + 1
    else:
        return text, ""
    return text[:best].rstrip(" "), text[best:].lstrip(" ")


def _split_at_spaces(text: str, room: int) -> tuple[str, str]:
    """`_split` of text whose characters are one column each and break at spaces only (most of
    an email's lines), with string searches instead of a loop over its characters (which made
    wrapping 80% of the render time): a break is after the last space of a run of spaces."""
    if len(text) <= room:
        return text, ""
    # The rightmost break that fits: a space at index < room not followed by another space.
    at = text.rfind(" ", 0, room)
    while at >= 0 and text[at + 1] == " ":
        at = text.rfind(" ", 0, at)
    if at < 0:  # none fits: the first break after the room (a long word stays whole)
        at = text.find(" ", room)
        while 0 <= at < len(text) - 1 and text[at + 1] == " ":
            at += 1
        if at < 0 or at >= len(text) - 1:
            return text, ""
    best = at + 1
    return text[:best].rstrip(" "), text[best:].lstrip(" ")


def _may_break_after(text: str, index: int) -> bool:
    ch, following = text[index], text[index + 1]
    if following == " ":
        return False  # break after the last space of a run, not inside it
    if ch == " ":
        return True
    if _hangul(ch) or _hangul(following):
        return False  # Korean, like Latin, breaks between words only (at the spaces above)
    if _wide(ch) or _wide(following):
        # Between East Asian characters (or one and a Latin run): allowed, unless punctuation
        # that must stay with its neighbour would be separated from it.
        return following not in _NO_LINE_START and ch not in _NO_LINE_END and not (_latin(ch) and _latin(following))
    return False


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7af" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()
