"""For each email kind: the template context of a delivery. The code for one kind only builds
its context; rendering and sending are shared."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from worker.errors import PermanentError
from worker.store import Store

ContextBuilder = Callable[[Store, dict[str, Any]], Awaitable[dict[str, Any]]]


class MissingBusinessRecord(PermanentError):
    def __init__(self, delivery_id: str, what: str) -> None:
        super().__init__(f"delivery {delivery_id}: {what} not found")


async def invoice_context(store: Store, delivery: dict[str, Any]) -> dict[str, Any]:
    invoice = await store.load_invoice(delivery["key"])
    if invoice is None:
        raise MissingBusinessRecord(f"invoice:{delivery['key']}", f"invoice {delivery['key']}")
    return {"invoice": invoice, "recipient": invoice.billing_contact}


#: kind -> async builder of its template context.
CONTEXT_BUILDERS: dict[str, ContextBuilder] = {
    "invoice": invoice_context,
}
