"""VERP return paths: `bounces+<token>@<domain>`, where the token stands for a delivery and one
of its recipients and is their HMAC, so a bounce cannot be forged to suppress an address or mark
a delivery. Pure.

The token is the first 15 bytes (120 bits) of HMAC-SHA256(secret, delivery id US recipient), in
lower-case base32 (24 characters; case-insensitive, as some relays fold the local part's case):
the local part is 32 octets whatever the lengths of the delivery id and the address, inside RFC
5321's 64. The token cannot carry what it names, so the sender keeps (token -> delivery,
recipient) in the store and the bounce listener looks it up; the listener then recomputes the
HMAC of what it found (`verify_target`), so only a token this installation issued, for what it
names, is taken.

Tokens of earlier versions (`<base32 payload>-<base32 HMAC>`, 75-165 octets) carried their target
and are still read (`ReturnPath.legacy`), so bounces for emails sent before an upgrade count.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

#: Local-part prefix of every return path.
VERP_PREFIX = "bounces+"
#: HMAC bytes of a token: 120 bits, beyond guessing by online trial.
TOKEN_MAC_BYTES = 15
#: Characters of a token (base32 of TOKEN_MAC_BYTES, no padding).
TOKEN_LENGTH = 24
#: RFC 5321 4.5.3.1.1: the longest local part.
MAX_LOCAL_PART_OCTETS = 64
#: HMAC bytes kept in a legacy token.
LEGACY_MAC_BYTES = 10
_SEP = "\x1f"  # ASCII unit separator: cannot occur in a delivery id or an address
_TOKEN = re.compile(f"[a-z2-7]{{{TOKEN_LENGTH}}}")


class InvalidVerpToken(ValueError):
    """The address is not one of our return paths, or its HMAC does not match."""


@dataclass(frozen=True)
class VerpTarget:
    delivery_id: str
    recipient: str


@dataclass(frozen=True)
class ReturnPath:
    """A return path as read from RCPT TO: its token, and for a legacy token what it names."""

    token: str
    legacy: VerpTarget | None = None


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _unb32(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidVerpToken("token is not base32") from exc


def _payload(target: VerpTarget) -> bytes:
    return f"{target.delivery_id}{_SEP}{target.recipient}".encode()


def return_path_token(delivery_id: str, recipient: str, secret: bytes) -> str:
    """The token for (delivery, recipient): the same on every retry of the delivery."""
    payload = _payload(VerpTarget(delivery_id, recipient))
    return _b32(hmac.new(secret, b"verp-token\0" + payload, hashlib.sha256).digest()[:TOKEN_MAC_BYTES])


def return_path(delivery_id: str, recipient: str, *, secret: bytes, domain: str) -> str:
    return f"{VERP_PREFIX}{return_path_token(delivery_id, recipient, secret)}@{domain}"


def parse_return_path(address: str, secret: bytes) -> ReturnPath:
    """The token of a return path as it arrives in RCPT TO (any case).

    Raises:
      InvalidVerpToken: not a return path of ours, malformed, or a forged legacy token.
    """
    local, at, _domain = address.strip("<>").rpartition("@")
    if not at or not local.lower().startswith(VERP_PREFIX):
        raise InvalidVerpToken(f"{address!r} is not a VERP return path")
    token = local[len(VERP_PREFIX) :].lower()
    if _TOKEN.fullmatch(token):
        return ReturnPath(token)
    if "-" in token:
        return ReturnPath(token, legacy=decode_legacy_token(token, secret))
    raise InvalidVerpToken("token is malformed")


def verify_target(token: str, target: VerpTarget, secret: bytes) -> VerpTarget:
    """`target` if `token` is its HMAC (what the store said the token names is checked too).

    Raises:
      InvalidVerpToken: the HMAC does not match.
    """
    expected = return_path_token(target.delivery_id, target.recipient, secret)
    if not hmac.compare_digest(token.lower().encode(), expected.encode()):
        raise InvalidVerpToken("token HMAC does not match")
    return target


def _legacy_mac(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, b"verp\0" + payload, hashlib.sha256).digest()[:LEGACY_MAC_BYTES]


def encode_legacy_token(delivery_id: str, recipient: str, secret: bytes) -> str:
    """A token as earlier versions made it (for tests of the upgrade path)."""
    payload = _payload(VerpTarget(delivery_id, recipient))
    return f"{_b32(payload)}-{_b32(_legacy_mac(secret, payload))}"


def decode_legacy_token(token: str, secret: bytes) -> VerpTarget:
    """What a token of an earlier version names.

    Raises:
      InvalidVerpToken: malformed, or forged or altered (HMAC mismatch).
    """
    body, dash, mac_text = token.partition("-")
    if not dash or not body or not mac_text:
        raise InvalidVerpToken("token has no HMAC")
    payload = _unb32(body)
    if not hmac.compare_digest(_unb32(mac_text), _legacy_mac(secret, payload)):
        raise InvalidVerpToken("token HMAC does not match")
    delivery_id, sep, recipient = payload.decode("utf-8", errors="replace").partition(_SEP)
    if not sep:
        raise InvalidVerpToken("token payload has no recipient")
    return VerpTarget(delivery_id, recipient)
