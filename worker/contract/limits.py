"""The contract's limits, in one place: what the worker refuses and the schema publishes.

Every value here is enforced by the models of `worker/contract/events.py`, written into
`schema/events.schema.json` (`maxLength`, `maxItems`, `pattern`, `maximum`) and listed in README
("Limits"). A limit keeps one event from making an email the relay refuses (a 20 MB product
name), a message Redis chokes on (an order of 10,000 lines) or an amount the arithmetic cannot
hold (`"1e30"`); each is far above anything a real order needs.
"""

from __future__ import annotations

#: Characters of an event's `id` (it is part of Redis keys and log lines).
MAX_EVENT_ID_LENGTH = 200
#: Characters of an identifier in `data` (account_id, order_id, subscription_id, line_id,
#: invoice_number).
MAX_ID_LENGTH = 100
#: Characters of a person's or an account's name (it becomes a `To:`/`Cc:` display name and
#: part of a subject).
MAX_NAME_LENGTH = 200
#: Characters of a product or service name (an invoice line, a usage entry).
MAX_PRODUCT_LENGTH = 200
#: Characters of a purchase-order number.
MAX_PO_NUMBER_LENGTH = 100
#: Characters of a free-text reason (a failed card payment's `reason`).
MAX_REASON_LENGTH = 1000
#: Characters of a redemption code (a secret; the queue carries a placeholder instead).
MAX_REDEMPTION_CODE_LENGTH = 100
#: An email address, RFC 5321 section 4.5.3.1: 254 octets in all (a 256-octet path less the
#: angle brackets), 64 octets before the `@`.
MAX_EMAIL_LENGTH = 254
MAX_EMAIL_LOCAL_PART_OCTETS = 64
#: Characters of a locale tag (BCP 47 section 4.4.1 advises supporting at least 35).
MAX_LOCALE_LENGTH = 35

#: Characters of one line of a postal address (`address.lines`), of its `city` and `region`.
MAX_ADDRESS_LINE_LENGTH = 100
#: Lines of a postal address before the city: EN 16931 has three (BT-50, BT-51, BT-163).
MAX_ADDRESS_LINES = 3
#: Characters of a postal code (the longest in use are 10; room for a country prefix).
MAX_POSTAL_CODE_LENGTH = 20
#: Characters of a VAT id, its country prefix included: the longest in use (a Chinese unified
#: social credit code, 18, or a Swiss `CHE123456789MWST`, 16) with room to spare.
MAX_VAT_ID_LENGTH = 24
#: Characters of a buyer reference (BT-10; a German Leitweg-ID has at most 46).
MAX_BUYER_REFERENCE_LENGTH = 100
#: Characters of a Peppol participant id after its scheme (`0208:0123456789`): far above the
#: national numbers the schemes hold (a GLN is 13 digits, a Belgian enterprise number 10).
MAX_PEPPOL_ID_LENGTH = 100

#: Lines of one order (each is a row of the invoice email and PDF).
MAX_ORDER_LINES = 500
#: Usage entries of one `rewards.accrued` event.
MAX_USAGE_ENTRIES = 500

#: Digits before the decimal point of an amount: up to 999 trillion, well inside the exact
#: range of the decimal arithmetic (28 significant digits) after tax and proration.
AMOUNT_MAX_INTEGER_DIGITS = 15
#: Decimal places of an amount: the largest ISO 4217 minor unit (CLF, UYW). An amount in a
#: known currency is held to that currency's minor unit (`worker/domain/money.py`): USD 2, JPY 0.
AMOUNT_MAX_DECIMALS = 4
#: Decimal places of a tax rate (a fraction between 0 and 1): 0.09975 is Quebec's 9.975%.
TAX_RATE_MAX_DECIMALS = 6
#: Months of a non-standard term (`term_months`): 100 years.
MAX_TERM_MONTHS = 1200

#: The years a date or timestamp may fall in: the date arithmetic of billing periods (a year
#: past a term's end, say) stays in range, and a typo such as `0026` or `20260` is refused.
MIN_YEAR = 1900
MAX_YEAR = 2999

#: Characters refused in every text field: C0 controls (NUL, CR, LF, TAB, ...), DEL, C1
#: controls, the Unicode line and paragraph separators (a line break in a header is header
#: injection, in a log line a forged entry), and the bidirectional embeddings, overrides and
#: isolates (U+202A-U+202E, U+2066-U+2069), which reorder what a reader sees in a name, a subject
#: or a `To:` header ("Trojan Source"). Ranges of code points, inclusive.
REFUSED_CHARACTERS: tuple[tuple[int, int], ...] = (
    (0x00, 0x1F),
    (0x7F, 0x9F),
    (0x2028, 0x2029),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
)
