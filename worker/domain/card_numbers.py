"""Redact card numbers from free text (DOMAIN.md section 3: never show card data by email). Pure.

A producer-supplied text such as a failed payment's `reason` may quote the card number. Anything
that looks like one (13-19 digits, single spaces or dashes allowed between them) and passes the
Luhn check is replaced before the text is stored, logged or rendered. Digit runs that fail Luhn
(order numbers, amounts, dates) are kept: they are useful and cannot be a valid card.
"""

from __future__ import annotations

import re

#: What a redacted card number is replaced by.
REDACTED_CARD = "[card number redacted]"

# A run of 13-19 digits with at most one space or dash between two digits; not glued to more
# digits on either side (then it is part of a longer number, which is examined as a whole).
_CANDIDATE = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def redact_card_numbers(text: str) -> str:
    """`text` with every card-number-like sequence replaced by REDACTED_CARD."""

    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        return REDACTED_CARD if luhn_valid(digits) else match.group()

    return _CANDIDATE.sub(replace, text)
