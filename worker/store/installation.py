"""This installation's random id: made once, with SET NX, by whichever process needs it first,
and the same for every worker on this Redis afterwards. A new Redis (or one reset) makes a new
one, so what is derived from it (Message-IDs) does not repeat what an earlier life of the
installation, or another installation, made: `Installation`, the `installation` part of
`worker.store.store.Store`."""

from __future__ import annotations

import asyncio
import secrets

from worker.store.connection import Connection

#: Random bytes of a new installation id (128 bits, as hex).
INSTALLATION_ID_BYTES = 16


class Installation:
    def __init__(self, db: Connection) -> None:
        self.db = db
        self.keys = db.keys

    async def installation_id(self) -> str:
        """The id, made now if this Redis has none yet. Read each time (one round trip), not
        kept: after a Redis reset the next message already uses the new one."""
        _, current = await asyncio.gather(  # one round trip, in this order
            self.db.command("set", self.keys.installation, secrets.token_hex(INSTALLATION_ID_BYTES), nx=True),
            self.db.command("get", self.keys.installation),
        )
        return current.decode("ascii")
