"""A throwaway DKIM key and a verifier whose DNS answers only our selector: what the DKIM tests
sign with and check the received bytes against."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SELECTOR, DOMAIN = "mail2026", "invoice-worker.example"


def make_dkim_key(directory: Path) -> tuple[Path, bytes]:
    """A fresh RSA key in a PEM file, and the TXT record its public half is published as."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "dkim.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def verify(data: bytes, record: bytes) -> bool:
    """dkimpy's verification, the DNS answered with `record` for our selector only."""

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return bool(dkim.verify(data, dnsfunc=dns))
