"""Right-to-left text that stays readable with left-to-right values in it (pure).

A plain-text mail client has no ``dir`` attribute: it takes a paragraph's direction from its
first strong character (Unicode bidi rule P2). A line that starts with an invoice number, an
amount, a bullet or a Latin brand name ("IBAN: ...", "* Fusion ERP — ...") would then be laid out
left-to-right in the middle of an Arabic email. A RIGHT-TO-LEFT MARK at the start of each line
makes every paragraph right-to-left without changing what the reader sees; numbers and Latin
runs inside a line keep their own order (Babel already marks Arabic amounts with RLM/ALM).
"""

from __future__ import annotations

import re
from typing import Any

#: U+200F RIGHT-TO-LEFT MARK: a strong RTL character of zero width.
RLM = "\u200f"


def right_to_left_lines(text: str) -> str:
    """Return ``text`` with an RLM at the start of every non-blank line (idempotent), but the
    signature separator ``-- ``, which mail clients recognise only as it is."""
    return "\n".join(
        RLM + line if line.strip() and line != "-- " and not line.startswith(RLM) else line for line in text.split("\n")
    )


#: U+200E LEFT-TO-RIGHT MARK. After an amount such as "26,620.00 US$" it keeps the "$" with "US"
#: (a trailing neutral would otherwise join the right-to-left text and show as "$US").
LRM = "\u200e"
#: U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE: a value inside them is laid out
#: on its own ("Acme B.V." keeps its final dot, "INV-0000002" its order) whatever surrounds it.
FSI, PDI = "\u2068", "\u2069"

_PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]")


def isolate_placeholders(translation: str) -> str:
    """Wrap every ``%(name)s`` of a translation in FSI ... PDI."""
    return _PLACEHOLDER.sub(lambda match: FSI + match.group(0) + PDI, translation)


class IsolatingTranslations:
    """Gettext translations whose placeholders come out isolated (for right-to-left catalogs).

    Names, account names, invoice numbers and amounts are mostly left-to-right; isolating each
    one keeps a right-to-left sentence readable around it (Unicode bidi, UAX #9 section 6.3).
    """

    def __init__(self, translations: Any) -> None:
        self._translations = translations

    def gettext(self, message: str) -> str:
        return isolate_placeholders(self._translations.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return isolate_placeholders(self._translations.ngettext(singular, plural, n))

    def pgettext(self, context: str, message: str) -> str:
        return isolate_placeholders(self._translations.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return isolate_placeholders(self._translations.npgettext(context, singular, plural, n))
