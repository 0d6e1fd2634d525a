"""`invoice-worker demo`: the whole pipeline on embedded defaults, fed by `fixtures/events.jsonl`.

An embedded Redis in a fresh directory, a local SMTP server writing .eml files, the fixtures
ingested as a producer would, one burst run, then a table of what was sent to whom.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from babel.numbers import format_currency
from pydantic import SecretStr

from worker.dev.embedded_redis import start_embedded_redis
from worker.dev.local_smtp import LocalSmtpServer
from worker.domain.locales import babel_locale
from worker.resources import fixtures_dir
from worker.runtime.runner import make_pipeline, run
from worker.services.ingest import ingest_lines
from worker.services.status import collect_dead_letters, collect_skipped, collect_status
from worker.settings import Settings
from worker.store.cipher import new_sealing_key


def run_demo(settings: Settings, *, out_dir: Path | None = None) -> int:
    started = time.monotonic()
    out_dir = out_dir or Path("out") / "demo" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    mail_dir = out_dir / "mail"
    with tempfile.TemporaryDirectory(prefix="invoice-worker-demo-") as redis_dir:  # noqa: SIM117 - Redis lives in it
        with start_embedded_redis(Path(redis_dir)) as redis_server, LocalSmtpServer(mail_dir) as smtp:
            demo_settings = settings.model_copy(
                update={
                    "redis_url": redis_server.url,
                    "smtp_host": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "smtp_tls": "none",
                    "smtp_username": None,
                    "smtp_password": None,
                    "scheduler_interval_s": 0.2,
                    # VERP on, as in production: a fresh secret per demo (return paths in the .eml).
                    "bounce_secret": settings.bounce_secret or SecretStr(secrets.token_urlsafe(32)),
                    "bounces_port": None,
                    # A fresh sealing key per demo too, in memory (its Redis is as short-lived).
                    "sealing_key": settings.sealing_key or SecretStr(new_sealing_key()),
                    "sealing_key_file": None,
                    "sealing_old_keys": None,
                }
            )
            pipeline = make_pipeline(demo_settings)
            events_file = fixtures_dir() / "events.jsonl"
            with events_file.open(encoding="utf-8") as lines:
                report = ingest_lines(pipeline, lines)
            print(f"ingested {events_file}: accepted {report.accepted}, rejected {len(report.rejections)}")
            for rejection in report.rejections:
                print(f"  line {rejection.line_no}: {rejection.error}")
            run(pipeline, burst=True, timeout_s=120)
            redis = (demo_settings.redis_url or "", demo_settings.redis_prefix)
            rows = asyncio.run(collect_status(*redis))
            dead = asyncio.run(collect_dead_letters(*redis))
            skipped = asyncio.run(collect_skipped(*redis))
    print()
    print(format_sent_table(rows))
    print()
    print(f"{len(dead)} event(s) dead-lettered" + (":" if dead else ""))
    for entry in dead:
        print(f"  {entry['event_id']} ({entry['type']}) {entry['field']}: {entry['reason']}")
    print(f"{len(skipped)} event(s) skipped by rule" + (":" if skipped else ""))
    for entry in skipped:
        print(f"  {entry['event_id']} ({entry['type']}): {entry['reason']}")
    emls = sorted(mail_dir.glob("*.eml"))
    # With VERP every recipient's copy carries its own return path, so each is its own message.
    print(f"\n{len(emls)} message copies (one per recipient) written as .eml files to {mail_dir}")
    print(f"demo took {time.monotonic() - started:.1f} s")
    return 0


def attachments_cell(documents: dict | None) -> str:
    """The files an email carried: ``INV-0000001.pdf (+Factur-X)``, ``INV-0000002.pdf, INV-0000002.xml
    (UBL)``; the rule ids when the gate held them; ``-`` for an email without documents."""
    if not documents:
        return "-"
    if not documents.get("files"):
        return "held: " + ",".join(rule["rule_id"] for rule in documents["held"]["rules"])
    files = ", ".join(documents["files"])
    label = {"facturx": " (+Factur-X)", "ubl": " (Peppol UBL)", "xrechnung": " (XRechnung)"}
    return files + label.get(documents["einvoice"], "")


def format_sent_table(rows: list[dict]) -> str:
    header = ("Kind", "Invoice/key", "Order", "To", "Cc", "Locale", "Total", "Attachments", "Delivery")
    table = [header]
    for row in rows:
        to = ", ".join(r["address"] for r in row["recipients"] if r["role"] == "to")
        cc = ", ".join(r["address"] for r in row["recipients"] if r["role"] == "cc") or "-"
        states = sorted({r["state"] for r in row["recipients"]})
        inv = row.get("invoice", {})
        total = format_currency(inv["total"], inv["currency"], locale=babel_locale(row["locale"])) if inv else "-"
        table.append(
            (
                row["kind"],
                row["key"],
                inv.get("order_id", "-"),
                to,
                cc,
                row["locale"],
                total,
                attachments_cell(row.get("documents")),
                "/".join(states),
            )
        )
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(r, widths, strict=False)).rstrip() for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
