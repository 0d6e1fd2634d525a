"""Every Redis key this service writes, named once. `prefix` comes from the settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str = "iw"

    def event(self, event_id: str) -> str:
        return f"{self.prefix}:event:{event_id}"

    def account(self, account_id: str) -> str:
        return f"{self.prefix}:account:{account_id}"

    def account_orders(self, account_id: str) -> str:
        return f"{self.prefix}:account:{account_id}:orders"

    def order(self, order_id: str) -> str:
        return f"{self.prefix}:order:{order_id}"

    def activations(self, order_id: str) -> str:
        """line id -> {"at": timestamp, "event_id": ...} of its first activation."""
        return f"{self.prefix}:order:{order_id}:activations"

    def settled(self, order_id: str) -> str:
        """line id -> number of the invoice that billed it ("-" when the window billed nothing)."""
        return f"{self.prefix}:order:{order_id}:settled"

    @property
    def invoice_seq(self) -> str:
        return f"{self.prefix}:invoice:seq"

    def invoice(self, number: str) -> str:
        return f"{self.prefix}:invoice:{number}"

    @property
    def invoices(self) -> str:
        """Invoice numbers by issue time."""
        return f"{self.prefix}:invoices"

    def delivery(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    def delivery_recipients(self, delivery_id: str) -> str:
        """address -> its delivery state (JSON)."""
        return f"{self.prefix}:delivery:{delivery_id}:rcpt"

    def delivery_log(self, delivery_id: str) -> str:
        """Every attempt and report for a delivery, oldest first (JSON)."""
        return f"{self.prefix}:delivery:{delivery_id}:log"

    @property
    def deliveries(self) -> str:
        """Delivery ids by creation time."""
        return f"{self.prefix}:deliveries"

    @property
    def due(self) -> str:
        """Everything that must happen at a time: member -> due time (Unix seconds)."""
        return f"{self.prefix}:due"

    @property
    def leased(self) -> str:
        """Due members claimed and not yet finished: member -> lease expiry (Unix seconds)."""
        return f"{self.prefix}:due:leased"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}:dead"

    @property
    def dead_letter_ids(self) -> str:
        return f"{self.prefix}:dead:ids"
