"""Values kept in Redis encrypted: sealed redemption codes and built messages, so that what Redis
writes to disk (its append-only file, its RDB snapshots) holds ciphertext only.

AES-256-GCM (`cryptography`), a fresh 96-bit nonce per value, and the Redis key (and hash field)
the value is kept under as associated data: a value copied to another key does not decrypt. Every
value starts with a version and the id of the key that sealed it, so keys can be rotated: values are
sealed with `SEALING_KEY` and opened with it or any of `SEALING_OLD_KEYS`. The keys come from the
settings and are never stored in Redis, logged or shown in a repr.

    sealed value = MAGIC (3 bytes) | key id (4 bytes) | nonce (12 bytes) | ciphertext | tag (16 bytes)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from worker.errors import PermanentError
from worker.settings import Settings

#: Bytes of a sealing key (AES-256).
KEY_BYTES = 32
#: Bytes of each value's nonce (96 bits, the size GCM is made for), fresh per value.
NONCE_BYTES = 12
#: Bytes of a key's id in a sealed value (a hash of the key: names it without revealing it).
KEY_ID_BYTES = 4
#: First bytes of every sealed value, version 1. 0xFF starts no UTF-8 text and no MIME message,
#: so a value written before values were sealed (plain bytes) is told apart from a sealed one.
MAGIC = b"\xffs1"
#: What an operator runs to make a key (the error for a missing key quotes it).
MAKE_A_KEY = (
    '`invoice-worker sealing-key` (or `python -c "import os,base64;print(base64.b64encode(os.urandom(32)).decode())"`)'
)
#: The reason a value that no configured key opens is refused with (a delivery fails with it).
UNREADABLE = "sealed secret cannot be decrypted: wrong SEALING_KEY?"


class SealingKeyMissing(PermanentError):
    """A secret must be sealed or opened and no `SEALING_KEY` is set."""

    def __init__(self, needed_for: str) -> None:
        self.needed_for = needed_for
        super().__init__(
            f"SEALING_KEY is not set, and {needed_for} needs it: redemption codes and built messages "
            f"are kept in Redis encrypted with it (the key never is). Make one with {MAKE_A_KEY} "
            "and give the same key to every ingest and run, as SEALING_KEY or in the file SEALING_KEY_FILE names"
        )


class SealingKeyInvalid(PermanentError):
    """A sealing key setting is malformed (the message names the setting, never the value)."""


class SealedValueUnreadable(PermanentError):
    """A sealed value that no configured key opens: sealed with another key, or altered."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"{UNREADABLE} ({detail})")


def new_sealing_key() -> str:
    """A fresh key, as `SEALING_KEY` holds it: base64 of 32 random bytes."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def write_new_key_file(path: Path) -> bool:
    """Write a fresh key to `path` (mode 0600) unless a file is there already; True if written.

    Atomic: the key is written to a private temporary file and linked into place, so that two
    commands starting together agree on one key and neither reads a half-written file.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(new_sealing_key() + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _decode_key(text: str, setting: str) -> bytes:
    """
    Raises:
      SealingKeyInvalid: not base64, or not 32 bytes once decoded.
    """
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealingKeyInvalid(f"{setting} is not base64. Make a key with {MAKE_A_KEY}.") from None
    if len(key) != KEY_BYTES:
        raise SealingKeyInvalid(
            f"{setting} holds {len(key)} bytes once decoded; a key is {KEY_BYTES} (AES-256). "
            f"Make one with {MAKE_A_KEY}."
        )
    return key


def key_id(key: bytes) -> bytes:
    """The id a sealed value names its key by: a hash of the key, so it shows nothing of it."""
    return hashlib.sha256(b"invoice-worker sealing key id\x00" + key).digest()[:KEY_ID_BYTES]


class SealingKeys:
    """The current key (seals and opens) and the old ones (open only)."""

    def __init__(self, current: bytes, old: Sequence[bytes] = ()) -> None:
        for key in (current, *old):
            if len(key) != KEY_BYTES:
                raise SealingKeyInvalid(f"a sealing key is {KEY_BYTES} bytes, not {len(key)}")
        self._current_id = key_id(current)
        self._current = AESGCM(current)
        self._by_id = {key_id(key): AESGCM(key) for key in old}
        self._by_id[self._current_id] = self._current

    @classmethod
    def from_settings(cls, settings: Settings) -> SealingKeys | None:
        """The keys of `SEALING_KEY` (or `SEALING_KEY_FILE`) and `SEALING_OLD_KEYS`; None when
        no key is set.

        Raises:
          SealingKeyInvalid: a key is malformed, its file unreadable, both SEALING_KEY and
            SEALING_KEY_FILE are set, or old keys are given without a current one.
        """
        current: bytes | None = None
        if settings.sealing_key is not None and settings.sealing_key_file is not None:
            raise SealingKeyInvalid("set SEALING_KEY or SEALING_KEY_FILE, not both")
        if settings.sealing_key is not None:
            current = _decode_key(settings.sealing_key.get_secret_value(), "SEALING_KEY")
        elif settings.sealing_key_file is not None:
            path = settings.sealing_key_file
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not ASCII"
                raise SealingKeyInvalid(f"SEALING_KEY_FILE {path}: {reason}") from None
            current = _decode_key(text, f"SEALING_KEY_FILE {path}")
        old_text = settings.sealing_old_keys.get_secret_value() if settings.sealing_old_keys else ""
        old = [
            _decode_key(text, f"SEALING_OLD_KEYS (entry {n})")
            for n, text in enumerate(old_text.replace(",", " ").split(), start=1)
        ]
        if current is None:
            if old:
                raise SealingKeyInvalid("SEALING_OLD_KEYS is set but SEALING_KEY is not: new values need a current key")
            return None
        return cls(current, old)

    @property
    def current_key_id(self) -> str:
        """The current key's id, in hex (safe to show: it is a hash)."""
        return self._current_id.hex()

    def seal(self, plaintext: bytes, *, bound_to: str) -> bytes:
        """Encrypt `plaintext` for the Redis key (and field) `bound_to`, under the current key."""
        header = MAGIC + self._current_id
        nonce = secrets.token_bytes(NONCE_BYTES)
        return header + nonce + self._current.encrypt(nonce, plaintext, header + bound_to.encode())

    def open(self, value: bytes, *, bound_to: str) -> bytes:
        """The plaintext of a value read from `bound_to`. A value written before values were
        sealed (not starting with MAGIC) is returned as it is, so an upgrade does not fail the
        emails in flight.

        Raises:
          SealedValueUnreadable: no configured key has the value's id, or its key does not
            open it (another key with a colliding id, the wrong Redis key, or altered bytes).
        """
        if not value.startswith(MAGIC):
            try:  # text or a MIME message, as kept before; random bytes are an altered value
                value.decode("utf-8")
            except UnicodeDecodeError:
                raise SealedValueUnreadable("the value is neither sealed nor text: altered?") from None
            return value
        header_end = len(MAGIC) + KEY_ID_BYTES
        header, nonce = value[:header_end], value[header_end : header_end + NONCE_BYTES]
        aead = self._by_id.get(header[len(MAGIC) :])
        if aead is None:
            raise SealedValueUnreadable(
                f"sealed with key id {header[len(MAGIC) :].hex()}, which is neither SEALING_KEY "
                f"(id {self.current_key_id}) nor one of SEALING_OLD_KEYS"
            )
        try:
            return aead.decrypt(nonce, value[header_end + NONCE_BYTES :], header + bound_to.encode())
        except (InvalidTag, ValueError):
            raise SealedValueUnreadable("it fails its integrity check: another key, altered, or moved") from None

    def __repr__(self) -> str:
        return f"<SealingKeys current={self.current_key_id} keys={len(self._by_id)}>"


def required(sealing: SealingKeys | None, needed_for: str) -> SealingKeys:
    """
    Raises:
      SealingKeyMissing: no key is set; naming what needs it and how to make one.
    """
    if sealing is None:
        raise SealingKeyMissing(needed_for)
    return sealing
