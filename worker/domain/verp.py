"""VERP return paths: `bounces+<token>@<domain>`, where the token names a delivery and one of its
recipients and carries an HMAC, so a bounce cannot be forged to suppress an address or mark a
delivery. Pure.

The token is lower-case base32 (case-insensitive: some relays fold the local part's case), two
fields separated by a dash: the payload `delivery_id US recipient`, and the first 10 bytes of its
HMAC-SHA256. The local part may exceed RFC 5321's 64 octets for long addresses; relays in practice
accept it (Postfix, Exim and aiosmtpd do).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

#: Local-part prefix of every return path.
VERP_PREFIX = "bounces+"
#: HMAC bytes kept in the token: 80 bits, beyond guessing by online trial.
MAC_BYTES = 10
_SEP = "\x1f"  # ASCII unit separator: cannot occur in a delivery id or an address


class InvalidVerpToken(ValueError):
    """The address is not one of our return paths, or its HMAC does not match."""


@dataclass(frozen=True)
class VerpTarget:
    delivery_id: str
    recipient: str


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidVerpToken("token is not base32") from exc


def _mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"verp\0" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def encode_token(delivery_id: str, recipient: str, secret: bytes) -> str:
    payload = f"{delivery_id}{_SEP}{recipient}".encode()
    return f"{_b32(payload)}-{_b32(_mac(secret, payload))}"


def decode_token(token: str, secret: bytes) -> VerpTarget:
    """The delivery and recipient a token names.

    Raises:
      InvalidVerpToken: malformed, or forged or altered (HMAC mismatch).
    """
    body, dash, mac_text = token.partition("-")
    if not dash or not body or not mac_text:
        raise InvalidVerpToken("token has no HMAC")
    payload = _unb32(body)
    if not hmac.compare_digest(_unb32(mac_text), _mac(secret, payload)):
        raise InvalidVerpToken("token HMAC does not match")
    delivery_id, sep, recipient = payload.decode("utf-8", errors="replace").partition(_SEP)
    if not sep:
        raise InvalidVerpToken("token payload has no recipient")
    return VerpTarget(delivery_id, recipient)


def return_path(delivery_id: str, recipient: str, *, secret: bytes, domain: str) -> str:
    return f"{VERP_PREFIX}{encode_token(delivery_id, recipient, secret)}@{domain}"


def parse_return_path(address: str, secret: bytes) -> VerpTarget:
    """The target of a return path as it arrives in RCPT TO (any case).

    Raises:
      InvalidVerpToken: not a return path of ours, or forged.
    """
    local, at, _domain = address.strip("<>").rpartition("@")
    if not at or not local.lower().startswith(VERP_PREFIX):
        raise InvalidVerpToken(f"{address!r} is not a VERP return path")
    return decode_token(local[len(VERP_PREFIX) :], secret)
