"""`invoice-worker demo` as a newcomer runs it: embedded Redis, local SMTP server, .eml files."""

from __future__ import annotations

import email
import io
import os
import subprocess
import sys
from email import policy

from pypdf import PdfReader


def test_demo_sends_every_fixture_email_once_and_prints_who_got_what(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "worker.cli", "demo", "--out", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # The table names each invoice with order, To, Cc, locale and total
    assert "INV-0000001" in out and "INV-0000003" in out
    assert "US$\xa029.040,00" in out and "US$\xa026.620,00" in out
    assert "ar@acme.example, jan@acme.example" in out
    for kind in ("card_failed", "rewards_code", "redemption"):
        assert kind in out
    # The bad fixture line is reported and dead-lettered, the duplicate has no effect
    assert "e9 (service.activated) data.activated_at" in out
    # Every recipient's copy is an .eml file; the Dutch invoices are in Dutch
    emls = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(emls) == 14
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in emls]
    dutch = [m for m in messages if m["Subject"].startswith("Factuur")]
    assert len(dutch) == 6  # two invoices x three recipients
    assert len({m["Message-ID"] for m in dutch}) == 2
    # Every invoice email carries its PDF; the Dutch ones their Peppol UBL beside it, the German
    # one its Factur-X inside (the table names them)
    invoices = [m for m in messages if m["Subject"].startswith(("Factuur", "Invoice", "Rechnung"))]
    assert len(invoices) == 10  # 3 + 3 Dutch, 2 American, 2 German copies
    for message in invoices:
        names = [a.get_filename() for a in message.iter_attachments()]
        assert names and names[0].endswith(".pdf") and names[0].startswith("INV-")
    assert all(len(list(m.iter_attachments())) == 2 for m in dutch)
    german = [m for m in invoices if m["Subject"].startswith("Rechnung")]
    assert len(german) == 2
    (pdf,) = german[0].iter_attachments()
    assert list(PdfReader(io.BytesIO(pdf.get_content())).attachments) == ["factur-x.xml"]
    assert "(+Factur-X)" in out and "(Peppol UBL)" in out
