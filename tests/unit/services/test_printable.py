"""Values printed on one line (worker/services/printable.py): none can start a line of its own. Pure."""

from __future__ import annotations

import pytest

from worker.services.printable import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("e9\r\n2026-12-01 00:00:00 INFO forged", "e9\\r\\n2026-12-01 00:00:00 INFO forged"),
        ("a\x00b\tc\x1b[2Jd\x7f", "a\\x00b\\tc\\x1b[2Jd\\x7f"),
        ("next\x85line\u2028sep\u2029", "next\\x85line\\u2028sep\\u2029"),
        ("evil\u202egnp.exe \u2066x\u2069", "evil\\u202egnp.exe \\u2066x\\u2069"),
        ("Jürgen Ørsted, 東京, عربي, C:\\path", "Jürgen Ørsted, 東京, عربي, C:\\path"),
    ],
)
def test_control_separator_and_bidi_characters_are_escaped_and_other_text_is_kept(text, shown):
    assert printable(text) == shown
    assert "\n" not in printable(text) and "\r" not in printable(text)
