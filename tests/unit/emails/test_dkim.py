"""DKIM signing of built messages: what dkimpy signs verifies against the published key, covers
the headers a receiver relies on, and breaks when any of them or the body changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from worker.domain.model import Contact, Recipients, RenderedEmail
from worker.emails.dkim import DkimConfigurationError, DkimSigner, dkim_signature_of
from worker.emails.mime import MAX_HEADER_LINE, build_message

RENDERED = RenderedEmail(
    kind="invoice", locale="nl-NL", subject="Factuur INV-0000001", text="Beste Els,\n", html="<p>Beste Els</p>\n"
)
RECIPIENTS = Recipients(to=(Contact("Els de Vries", "els@acme.example"),), cc=(Contact("Jan", "jan@acme.example"),))


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="module")
def rsa_pem() -> bytes:
    return pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def signer(rsa_pem) -> DkimSigner:
    return DkimSigner.from_pem("invoice-worker.example", "mail2026", rsa_pem)


def message() -> bytes:
    return build_message(
        RENDERED,
        RECIPIENTS,
        mail_from="Invoice Worker Cloud <billing@invoice-worker.example>",
        message_id="<abc@invoice-worker.example>",
        sent_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
    )


def verifies(signed: bytes, signer: DkimSigner) -> bool:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{signer.dns_name}.".encode()
        return signer.dns_record.encode()

    return bool(dkim.verify(signed, dnsfunc=dns))


def signature_tags(signed: bytes) -> dict[str, str]:
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    value = re.search(r"^DKIM-Signature: (.*?)\r\n(?=\S)", header, re.S | re.M).group(1)
    return {
        k.strip(): v.strip() for k, v in (t.split("=", 1) for t in re.sub(r"\s+", " ", value).split(";") if "=" in t)
    }


def test_a_signed_message_verifies_against_the_published_key(signer):
    # Given a built message, when it is signed
    signed = signer.sign(message())
    # Then dkimpy verifies it against the TXT record the README says to publish
    assert verifies(signed, signer)
    tags = signature_tags(signed)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "rsa-sha256",
        "relaxed/relaxed",
        "invoice-worker.example",
        "mail2026",
    )
    # And the headers a receiver shows or threads by are signed, From and Subject once more than present
    signed_names = [h.strip() for h in tags["h"].split(":")]
    for name in ("from", "to", "cc", "subject", "date", "message-id", "mime-version", "content-type", "auto-submitted"):
        assert name in signed_names
    assert signed_names.count("from") == 2 and signed_names.count("subject") == 2
    # And the signature's lines keep within 78 octets
    assert max(len(line) for line in signed.split(b"\r\n\r\n", 1)[0].split(b"\r\n")) <= MAX_HEADER_LINE


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"Subject: Factuur INV-0000001", b"Subject: Factuur INV-0000002"),
        lambda m: m.replace(b"\r\nTo: ", b"\r\nFrom: Evil <evil@x.example>\r\nTo: ", 1),
        lambda m: m.replace(b"Beste Els", b"Dear Els", 1),
        lambda m: m.replace(b"Message-ID: <abc@", b"Message-ID: <abd@"),
    ],
    ids=["subject", "second From", "body", "Message-ID"],
)
def test_a_message_changed_after_signing_does_not_verify(signer, tamper):
    signed = signer.sign(message())
    assert verifies(signed, signer)
    assert not verifies(tamper(signed), signer)


def test_the_dns_record_is_the_public_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    signer = DkimSigner.from_pem("example.com", "s1", pem(key))
    assert signer.dns_name == "s1._domainkey.example.com"
    assert signer.dns_record.startswith("v=DKIM1; k=rsa; p=MI")


@pytest.mark.parametrize(
    ("material", "expected"),
    [
        (b"not a key at all", "not a PEM private key"),
        (pem(ed25519.Ed25519PrivateKey.generate()), "only RSA keys"),
    ],
    ids=["garbage", "ed25519"],
)
def test_an_unusable_key_is_refused_without_quoting_it(material, expected):
    with pytest.raises(DkimConfigurationError, match=expected) as refused:
        DkimSigner.from_pem("example.com", "s1", material)
    body = material.split(b"\n")[1].decode() if b"\n" in material else material.decode()
    assert body not in str(refused.value)


def test_an_encrypted_key_is_refused_with_the_reason(rsa_pem):
    key = serialization.load_pem_private_key(rsa_pem, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
    )
    with pytest.raises(DkimConfigurationError, match="encrypted"):
        DkimSigner.from_pem("example.com", "s1", encrypted)


def test_the_key_is_not_in_the_signers_repr(signer, rsa_pem):
    assert "PRIVATE" not in repr(signer) and rsa_pem.split(b"\n")[1].decode() not in repr(signer)


def test_the_signature_header_is_taken_off_a_signed_message_whole_and_nothing_more(signer):
    # Given a signed message (its DKIM-Signature folded over several lines, first)
    built = message()
    signed = signer.sign(built)
    # When the signature is taken off, as retention keeps it
    signature = dkim_signature_of(signed)
    # Then it is every folded line of that header, and what follows is the message as built
    assert signature is not None and signature.count(b"\r\n") > 1
    assert signed == signature + built
    # and an unsigned message has none
    assert dkim_signature_of(built) is None
