"""DKIM signing (RFC 6376) of built messages, with dkimpy: relaxed/relaxed, rsa-sha256.

A pure function of the message bytes and the key: `DkimSigner.sign` prepends a DKIM-Signature
header. It runs once, when a delivery's message is built, so the stored bytes are signed and
every retry sends the very bytes that were signed. The key comes in as PEM bytes (the caller
reads the file, `worker.services.dkim_settings`); it is never in a repr, a log or an error.

Signed: From, To, Cc, Subject, Date, Message-ID, MIME-Version, Content-Type, the other MIME and
auto-reply headers this service writes; From, To, Cc, Subject, Date and Message-ID once more
than present ("oversigned"), so a copy with one of them added or a second one does not verify.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

import dkim  # type: ignore[import-untyped]  # dkimpy ships no type information
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from worker.errors import PermanentError

#: Headers signed when present, in this order.
SIGNED_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Language",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
)
#: Signed once more than present: adding one (or a second one) breaks the signature.
OVERSIGNED_HEADERS = frozenset({"from", "to", "cc", "subject", "date", "message-id"})
#: Smallest RSA key accepted (bits): RFC 8301 requires 1024 at least; 2048 is advised.
MIN_RSA_BITS = 1024

_SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*")
_HEADER_NAME = re.compile(rb"^([!-9;-~]+):", re.M)


class DkimConfigurationError(PermanentError):
    """DKIM settings that cannot sign: partial, an unreadable or unusable key, a bad selector."""


@dataclass(frozen=True)
class DkimSigner:
    """The d= domain, the selector and the private key of this installation's DKIM signature."""

    domain: str
    selector: str
    #: The private key as PKCS#1 PEM (what dkimpy reads).
    private_key_pem: bytes = field(repr=False)
    #: The public key, base64 DER (SubjectPublicKeyInfo): the `p=` of the DNS record.
    public_key_b64: str

    @classmethod
    def from_pem(cls, domain: str, selector: str, pem: bytes, *, source: str = "DKIM_PRIVATE_KEY_FILE") -> DkimSigner:
        """A signer from a PEM private key (PKCS#1 or PKCS#8, unencrypted).

        Raises:
          DkimConfigurationError: naming `source`, never quoting the key.
        """
        if not _SELECTOR.fullmatch(selector):
            raise DkimConfigurationError(f"DKIM_SELECTOR {selector!r} is not a DNS label sequence (e.g. mail2026)")
        if not domain or "." not in domain or any(ch.isspace() for ch in domain):
            raise DkimConfigurationError(f"DKIM_DOMAIN {domain!r} is not a domain name")
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            # The library's message says what is wrong with the format, never the key's content.
            reason = "it is encrypted (give an unencrypted key)" if "encrypted" in str(exc) else "not a PEM private key"
            raise DkimConfigurationError(f"{source}: cannot read the DKIM key: {reason}") from None
        except Exception:  # an unsupported algorithm and the like: nothing of the key in the error
            raise DkimConfigurationError(f"{source}: cannot read the DKIM key: unsupported key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise DkimConfigurationError(
                f"{source}: the DKIM key is a {type(key).__name__.removeprefix('_')}; only RSA keys are supported "
                "(Ed25519 signing needs PyNaCl, which is not installed)"
            )
        if key.key_size < MIN_RSA_BITS:
            raise DkimConfigurationError(f"{source}: the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS}")
        pkcs1 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signer = cls(domain.lower(), selector, pkcs1, base64.b64encode(public).decode("ascii"))
        signer.sign(b"From: check@" + domain.encode("ascii") + b"\r\n\r\n")  # fails now, not at the first email
        return signer

    @property
    def dns_name(self) -> str:
        """Where the public key is published: `<selector>._domainkey.<domain>`."""
        return f"{self.selector}._domainkey.{self.domain}"

    @property
    def dns_record(self) -> str:
        """The TXT record to publish at `dns_name`."""
        return f"v=DKIM1; k=rsa; p={self.public_key_b64}"

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front (CRLF line ends, as built).

        Raises:
          DkimConfigurationError: dkimpy could not sign (the key was checked when loaded).
        """
        try:
            signature = dkim.sign(
                message,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self.private_key_pem,
                canonicalize=(b"relaxed", b"relaxed"),
                signature_algorithm=b"rsa-sha256",
                include_headers=signed_headers(message),
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise DkimConfigurationError(f"DKIM signing failed: {type(exc).__name__}") from None
        return signature + message


def signed_headers(message: bytes) -> list[bytes]:
    """The h= list for `message`: each of SIGNED_HEADERS as often as present, oversigned ones once more."""
    head = message.split(b"\r\n\r\n", 1)[0]
    present: dict[bytes, int] = {}
    for match in _HEADER_NAME.finditer(head):
        name = match.group(1).lower()
        present[name] = present.get(name, 0) + 1
    names: list[bytes] = []
    for header in SIGNED_HEADERS:
        name = header.lower().encode("ascii")
        count = present.get(name, 0) + (1 if header.lower() in OVERSIGNED_HEADERS else 0)
        names.extend([name] * count)
    return names


def dkim_signature_of(message: bytes) -> bytes | None:
    """The DKIM-Signature header (its folded lines and their CRLF) that `DkimSigner.sign` put
    first, if any."""
    if not message.startswith(b"DKIM-Signature:"):
        return None
    end = 0
    while True:
        end = message.index(b"\r\n", end) + 2
        if message[end : end + 1] not in (b" ", b"\t"):
            return message[:end]
