"""`invoice-worker demo` as a newcomer runs it: embedded Redis, local SMTP server, .eml files."""

from __future__ import annotations

import email
import os
import subprocess
import sys
from email import policy


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
    assert len(emls) == 12
    messages = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in emls]
    dutch = [m for m in messages if m["Subject"].startswith("Factuur")]
    assert len(dutch) == 6  # two invoices x three recipients
    assert len({m["Message-ID"] for m in dutch}) == 2
