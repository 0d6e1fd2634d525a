"""How a recipient's state is kept in its delivery's hash (field: the address): a JSON array of
its values in a fixed order, without the address the field already names. Every delivered
invoice keeps one per recipient for good, so the field names and the address repeated in each
(~330 bytes as a JSON object) were a third of what a delivered invoice leaves past retention;
an array is ~110. The Lua scripts store these values as they are given; only Python reads them.

A state kept as a JSON object before (it starts with ``{``) is read as it is.
"""

from __future__ import annotations

import json

from worker.domain.delivery import Outcome, RecipientState

#: The order of the array. Appending a field keeps every array of before readable (it takes
#: the field's default); reordering or removing one would not.
_FIELDS = ("role", "state", "reply", "attempts", "first_attempt_at", "updated_at", "next_attempt_at", "bounce_resends")


def encode(address: str, state: RecipientState) -> str:
    """The value kept under the field `address` (the state's own address, unless it differs)."""
    values = [getattr(state, name) for name in _FIELDS]
    values[1] = state.state.value
    if state.address != address:
        values.append({"address": state.address})
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False)


def decode(address: str, raw: bytes | str) -> RecipientState:
    """The state kept as `raw` under the field `address`: an array, or a JSON object of before."""
    data = json.loads(raw)
    if isinstance(data, dict):
        fields = data
    else:
        extra = data.pop() if data and isinstance(data[-1], dict) else {}
        fields = {"address": address, **dict(zip(_FIELDS, data, strict=False)), **extra}
    fields["state"] = Outcome(fields["state"])
    return RecipientState(**fields)
