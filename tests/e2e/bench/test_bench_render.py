"""The render + MIME measurement: invoices like the benchmark's, each built into a message that reads back."""

from __future__ import annotations

import email
import email.policy

from bench.render import build_invoice_email, invoice_emails, main
from worker.domain.locales import SUPPORTED_LOCALES


def test_the_invoices_vary_like_the_benchmarks():
    emails = invoice_emails()

    # Every supported locale, several currencies, 3-5 lines, two contacts copied, distinct amounts
    assert {e.locale for e in emails} >= set(SUPPORTED_LOCALES)
    assert len({e.context["invoice"].currency for e in emails}) > 10
    assert {len(e.context["invoice"].lines) for e in emails} == {3, 4, 5}
    assert all(len(e.recipients.cc) == 2 for e in emails)
    assert len({e.context["invoice"].total for e in emails}) > 150


def test_each_invoice_builds_a_message_a_mail_client_reads():
    for invoice in invoice_emails(15):
        msg = email.message_from_bytes(build_invoice_email(invoice), policy=email.policy.default)
        assert invoice.context["invoice"].number in msg["Subject"]
        assert not any(part.defects for part in msg.walk())


def test_main_prints_the_median_and_p99(capsys):
    result = main(["--invoices", "10", "--rounds", "2"])

    assert result["samples"] == 20 and 0 < result["median_ms"] <= result["p99_ms"]
    assert "median" in capsys.readouterr().out
