"""Quoted-printable bodies decode to exactly the text, in lines a mail server accepts, however the HTML was cut."""

from __future__ import annotations

import binascii
import random

import pytest
from markupsafe import Markup

from worker.domain.locales import SUPPORTED_LOCALES
from worker.emails.kinds import KINDS
from worker.emails.preview import preview_context
from worker.emails.quoted_printable import MAX_LINE, quoted_printable, quoted_printable_parts
from worker.emails.rendering import render
from worker.settings import Settings

#: Characters that each have a rule: "=", non-ASCII, spaces and tabs (escaped at a line end),
#: line breaks, a control character, a quote.
ALPHABET = ["a", "=", "é", "€", "語", " ", "\t", "\n", "\r\n", "\x0b", '"', "x" * 40, "=" * 30, "é" * 30, " " * 3]


def decoded(encoded: bytes) -> str:
    return binascii.a2b_qp(encoded).decode("utf-8")


def assert_valid(encoded: bytes) -> None:
    lines = encoded.split(b"\n")
    assert encoded.isascii() and b"\r" not in encoded
    # A soft break must be followed by a line of the body, not by the MIME boundary.
    assert not encoded.endswith(b"=\n") and not encoded.endswith(b"=")
    assert max(map(len, lines)) <= MAX_LINE
    # Whitespace at the end of a line would be lost on the way (RFC 2045 6.7, rule 3).
    assert not any(line.endswith((b" ", b"\t")) for line in lines)


def random_parts(rng: random.Random) -> list[str]:
    """Fixed markup (str) and values (Markup), as a template writes them."""
    parts = []
    for _ in range(rng.randint(0, 12)):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
        parts.append(text if rng.random() < 0.5 else Markup(text))
    return parts


def test_any_text_decodes_to_itself() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))

        encoded = quoted_printable(text)

        assert_valid(encoded)
        assert decoded(encoded) == text.replace("\r\n", "\n")


def test_a_body_in_pieces_decodes_to_the_pieces_joined() -> None:
    rng = random.Random(8)
    for _ in range(3000):
        parts = random_parts(rng)

        encoded = quoted_printable_parts(parts)

        assert_valid(encoded)
        assert decoded(encoded) == "".join(parts).replace("\r\n", "\n")


def test_a_lone_carriage_return_becomes_a_line_break_never_a_bare_cr() -> None:
    # A customer name with a stray CR: a bare CR on the wire is refused by strict SMTP servers.
    assert quoted_printable("Acme\rB.V.") == b"Acme\nB.V."
    assert quoted_printable_parts([Markup("Acme\rB.V."), "</td>" * 20]).startswith(b"Acme\nB.V.=\n")


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_rendered_html_part_decodes_to_the_html(kind: str, locale: str) -> None:
    email = render(kind, preview_context(kind, Settings()), locale)

    encoded = quoted_printable_parts(email.html_parts)

    assert_valid(encoded)
    assert decoded(encoded) == email.html
    # The soft breaks between pieces cost little: within 2% of encoding the HTML in one go.
    assert len(encoded) <= len(quoted_printable(email.html)) * 1.02
