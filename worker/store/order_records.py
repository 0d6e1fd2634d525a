"""How an order is kept in Redis: a compact record that the store's Lua scripts can still read.

An open invoice window is mostly its order, and an order as JSON is ~650 bytes of which most are
field names. A record is::

    b"o1" <account id> <subscription id> <booking event id> <line count> <line id>... <body>

each field but the body a netstring without its comma (`b"11:WA-00000001"`, the length in
bytes), and the body the order's JSON deflated with a preset dictionary: the field names and
common values below, then the record's own header (so the ids in the JSON cost a few bits).
A three-line order comes to ~200 bytes (its JSON: ~640). The scripts read the header alone
(`scripts/lib/order_record.lua`): the account, the subscription and whether a line is on the order.
Once the order's lines are activated or settled, the scripts write its line state into the
record too (`MARKER_WITH_LINES`, "o2": the body framed as a netstring, then field and value
pairs), where a hash beside the record held it before 2026-12-07; since 2026-12-08 each value
front-coded against the one before it (`MARKER_FRONT_CODED`, "o3").

An order stored before records existed is JSON (it starts with ``{``) and is read as it is;
`decode` and the Lua reader take both.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from worker.domain.model import Order
from worker.store import netstrings
from worker.store.packed_json import PackedUnreadable, pack, unpack

_ORDER = TypeAdapter(Order)

#: Marks a record (JSON starts with "{"). A later layout takes a new marker and keeps this one readable.
MARKER = b"o1"
#: Marks a record with its line state (since 2026-12-07): the same header, the body as a
#: netstring, then netstring pairs of field and value, as the order's activations hash holds
#: them (a line's activation, a settled line's invoice number under orders.SETTLED_PREFIX).
#: The scripts that apply activations and settle windows write them there once the order is
#: booked (`scripts/lib/order_record.lua`): one key per order instead of two. The body stays
#: packed with the dictionary of an "o1" header, so it is never packed again.
MARKER_WITH_LINES = b"o2"
#: Marks the same with each value front-coded (since 2026-12-08): ``<n>+`` then a netstring of
#: what follows the first n bytes of the value before it (of the first: of ""). A line's
#: activation (``"<ts> <offset> <event id>"``) shares its time and most of its event id with the
#: line's before, and every settled line of a window names the same invoice: ~45 and ~19 bytes
#: a line become ~6 and ~5 (a four-line order's record ~550 -> ~420 B, a smaller allocation).
MARKER_FRONT_CODED = b"o3"

#: The preset dictionary of every "o1" record. Records written with it are read with it, for as
#: long as they live: it never changes (a test pins its digest); a better one takes a new MARKER.
#: Deflate looks back from the end, so the likeliest strings come last.
DICTIONARY = (
    b'"total_contract_value":"term_months":12,"quarterly_in_arrears","quarterly_in_advance",'
    b'"monthly_in_arrears","credit_card","paypal","direct_debit","USD","GBP","CHF","SEK","NOK",'
    b'"DKK","PLN","JPY","AUD","CAD","locale":"en-US","en-GB","de-DE","fr-FR","iaas","saas",'
    b'"support","pooled","0.00","0.19","0.20","0.25",'
    b'"annual_amount":"","tax_rate":"0.21","kind":"paas","product":"},{"line_id":"'
    b'"}],"lines":[{"line_id":"term_end":"term_start":"2026-"billing_frequency":"annual_in_advance",'
    b'"currency":"EUR","payment_method":"invoice","po_number":null,"locale":"nl-NL","email":"",'
    b'"name":"},"billing_contact":{"subscription_id":"","account_id":"{"order_id":"'
)


#: Marks an "o1" record whose body is packed with `DICTIONARY_2` (since 2026-12-08), and the
#: same with its line state front-coded, as "o3". The scripts keep a record's dictionary when
#: they write its line state: "o1" and "o2" become "o3", "o4" becomes "o5".
MARKER_2 = b"o4"
MARKER_2_FRONT_CODED = b"o5"

#: The preset dictionary of every "o4" and "o5" record: it never changes (a test pins its
#: digest). The JSON of an order in the order it is written, where "o1"'s named its fields in
#: pieces of another order: 204 -> 177 B a four-line order's body (the bench's, median).
DICTIONARY_2 = (
    b'"total_contract_value":"term_months":12,"quarterly_in_arrears","quarterly_in_advance",'
    b'"monthly_in_arrears","monthly_in_advance","credit_card","paypal","direct_debit","USD","GBP",'
    b'"CHF","SEK","NOK","DKK","PLN","JPY","AUD","CAD","BRL","INR","locale":"en-US","en-GB","de-DE",'
    b'"fr-FR","es-ES","it-IT","ja-JP","support","pooled","0.00","0.19","0.20","0.25",'
    b'"kind":"saas","tax_rate":"0.21","annual_amount":"'
    b'"},{"line_id":"L'
    b'"billing_frequency":"annual_in_advance","term_start":"20","term_end":"20","lines":[{"line_id":"L1","product":"'
    b'","kind":"paas","tax_rate":"0.21","annual_amount":"'
    b'","kind":"iaas","tax_rate":"0.21","annual_amount":"'
    b'"},"po_number":"PO-","payment_method":"invoice","currency":"EUR",'
    b'{"order_id":"","account_id":"","subscription_id":"","billing_contact":{"name":"","email":"","locale":"nl-NL'
)

_MARKERS = (MARKER, MARKER_WITH_LINES, MARKER_FRONT_CODED, MARKER_2, MARKER_2_FRONT_CODED)
#: Markers of a record whose body is framed as a netstring, a line state after it.
_WITH_LINES = (MARKER_WITH_LINES, MARKER_FRONT_CODED, MARKER_2_FRONT_CODED)


class OrderRecordUnreadable(ValueError):
    """A stored order is neither JSON nor a record of a known layout."""


def _header(order: Order, event_id: str | None) -> bytes:
    """The header's fields, framed (without a marker)."""
    fields = [order.account_id, order.subscription_id, event_id or "", str(len(order.lines))]
    fields += [line.line_id for line in order.lines]
    return b"".join(netstrings.encode(field.encode("utf-8")) for field in fields)


def _dictionary(marker: bytes, header: bytes) -> bytes:
    """What the body of a record with `marker` and `header` (its fields) is packed with: the
    layout's dictionary, then "o1" and the header (whatever the marker: it was so for "o1")."""
    base = DICTIONARY_2 if marker in (MARKER_2, MARKER_2_FRONT_CODED) else DICTIONARY
    return base + MARKER + header


def encode(order: Order, event_id: str | None = None) -> bytes:
    """The record of `order`, booked by the event `event_id` (None: not known): "o4"."""
    header = _header(order, event_id)
    # Defaults (absent optional fields) are left out: smaller, and read back the same.
    body = _ORDER.dump_json(order, exclude_defaults=True)
    return MARKER_2 + header + pack(body, _dictionary(MARKER_2, header))


def _split(raw: bytes) -> tuple[bytes, list[bytes]]:
    """The header's bytes and its fields (account, subscription, event, count, line ids)."""
    if not raw.startswith(_MARKERS):
        raise OrderRecordUnreadable(
            f"a stored order starts with {raw[:2]!r}, neither JSON nor one of {b', '.join(_MARKERS).decode()}"
        )
    try:
        pos, fields = len(MARKER), []
        for _ in range(4):
            field, pos = netstrings.read(raw, pos)
            fields.append(field)
        for _ in range(int(fields[3])):
            field, pos = netstrings.read(raw, pos)
            fields.append(field)
    except ValueError as exc:
        raise OrderRecordUnreadable(f"a stored order's header is broken: {exc}") from None
    return raw[:pos], fields


def decode(raw: bytes) -> Order:
    """The order kept as `raw`: a record, or JSON written before records existed.

    Raises:
      OrderRecordUnreadable: neither (a corrupted value, or a layout of a later release).
    """
    if raw.startswith(b"{"):
        return _ORDER.validate_json(raw)
    header, packed, _ = _body(raw)
    try:
        body = unpack(packed, _dictionary(raw[:2], header[len(MARKER) :]))
    except PackedUnreadable as exc:
        raise OrderRecordUnreadable(f"a stored order's body {exc}") from None
    return _ORDER.validate_json(body)


def line_state(raw: bytes) -> list[bytes]:
    """The line state a record holds beside its body, flat (field, value, field, value, ...) as
    HGETALL of the order's activations hash gives it; none in an "o1" or "o4" record or JSON."""
    if not raw.startswith(_WITH_LINES):
        return []
    front_coded = not raw.startswith(MARKER_WITH_LINES)
    _, _, pos = _body(raw)
    flat: list[bytes] = []
    previous = b""
    while pos < len(raw):
        part, pos = _read(raw, pos)
        flat.append(part)
        if front_coded:
            previous, pos = _read_shared(raw, pos, previous)
            flat.append(previous)
    if len(flat) % 2:
        raise OrderRecordUnreadable("a stored order's line state has a field without its value")
    return flat


def _read_shared(raw: bytes, pos: int, previous: bytes) -> tuple[bytes, int]:
    """A front-coded value at `pos` ("o3", "o5"), the value before it being `previous`."""
    plus = raw.find(b"+", pos, pos + 12)
    if plus < 0 or not raw[pos:plus].isdigit() or int(raw[pos:plus]) > len(previous):
        raise OrderRecordUnreadable("a stored order's line state has a front-coded value that is broken")
    rest, end = _read(raw, plus + 1)
    return previous[: int(raw[pos:plus])] + rest, end


def _body(raw: bytes) -> tuple[bytes, bytes, int]:
    """A record's header, its packed body, and where the body ends (where the line state starts)."""
    header, _ = _split(raw)
    if raw.startswith(_WITH_LINES):
        packed, end = _read(raw, len(header))
        return header, packed, end
    return header, raw[len(header) :], len(raw)


def _read(raw: bytes, pos: int) -> tuple[bytes, int]:
    try:
        return netstrings.read(raw, pos)
    except ValueError as exc:
        raise OrderRecordUnreadable(f"a stored order's record is broken: {exc}") from None


def booking_event(raw: bytes) -> str | None:
    """The id of the event that booked the order kept as `raw`, when the record holds it."""
    if raw.startswith(b"{"):
        return None
    event_id = _split(raw)[1][2].decode("utf-8")
    return event_id or None
