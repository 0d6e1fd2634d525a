"""What each VERP return path's short token names (delivery and recipient), kept while a
bounce for it may still come: `ReturnPaths`, the `return_paths` part of
`worker.store.store.Store`. The token itself is an HMAC of what it names
(`worker.domain.verp`), so this is a lookup table, not the proof."""

from __future__ import annotations

from worker.domain.verp import VerpTarget
from worker.store.connection import Connection

_SEP = "\x1f"  # ASCII unit separator: cannot occur in a delivery id or an address


class ReturnPaths:
    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def remember(self, token: str, target: VerpTarget, *, ttl_s: float) -> None:
        """Keep what `token` names for `ttl_s` from now (a later send of the same renews it)."""
        value = f"{target.delivery_id}{_SEP}{target.recipient}"
        await self.db.command("set", self.keys.return_path(token), value, ex=max(1, int(ttl_s)))

    async def target(self, token: str) -> VerpTarget | None:
        """What `token` names, or None when it was never issued here or has expired."""
        raw = await self.db.command("get", self.keys.return_path(token))
        if raw is None:
            return None
        delivery_id, sep, recipient = raw.decode("utf-8", errors="replace").partition(_SEP)
        return VerpTarget(delivery_id, recipient) if sep else None
