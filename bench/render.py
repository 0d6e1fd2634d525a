"""The cost of rendering and building one invoice email (render + MIME), outside the pipeline.

The invoices look like the benchmark's load (`worker/bench_load.py`): 3-5 lines with distinct
amounts, tax at 21%, every supported locale and every country's currency, a billing contact and
two contacts on Cc with accented names. Each (kind, locale) is rendered once before timing, so the
figures are the cost per email with templates compiled, as in a running worker.

    .venv/bin/python -m bench.render [--invoices 200] [--rounds 3]   # 3 rounds of 200 invoices
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from pydantic import TypeAdapter

from bench.load import generate_orders
from bench.measures import percentile
from worker.data.countries import default_locale, invoice_payment_options
from worker.domain.locales import choose_locale
from worker.domain.model import Contact, Invoice, Recipients
from worker.domain.money import round_money
from worker.emails.mime import build_message
from worker.emails.rendering import render

#: Invoices per round, and rounds (each with other amounts: seeds DEFAULT_SEED, +1, ...).
DEFAULT_INVOICES = 200
DEFAULT_ROUNDS = 3
DEFAULT_SEED = 7
#: The sender of the benchmark's emails (the settings' default).
MAIL_FROM = "Invoice Worker Cloud <billing@invoice-worker.example>"
_NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class InvoiceEmail:
    """What one invoice email is built from: template context, locale and MIME arguments."""

    locale: str
    context: dict[str, Any]
    recipients: Recipients
    message_id: str


def invoice_emails(count: int = DEFAULT_INVOICES, *, seed: int = DEFAULT_SEED) -> list[InvoiceEmail]:
    """`count` invoice emails from the benchmark's orders, each activated in full on its term start."""
    emails = []
    for i, load in enumerate(generate_orders(count, run_tag="render", now=_NOW, seed=seed)):
        account, order = (event["data"] for event in load.setup)
        start = date.fromisoformat(order["term"]["start"])
        lines = []
        for line in order["lines"]:
            amount = Decimal(line["annual_amount"])
            lines.append(
                {
                    "line_id": line["line_id"],
                    "order_id": order["order_id"],
                    "product": line["product"],
                    "kind": line["kind"],
                    "period_start": order["term"]["start"],
                    "period_end": order["term"]["end"],
                    "amount": str(round_money(amount, order["currency"])),
                    "tax_rate": line["tax_rate"],
                    "tax": str(round_money(amount * Decimal(line["tax_rate"]), order["currency"])),
                }
            )
        invoice = TypeAdapter(Invoice).validate_python(
            {
                "number": f"INV-{i:07d}",
                "order_id": order["order_id"],
                "account_id": account["account_id"],
                "subscription_id": order["subscription_id"],
                "currency": order["currency"],
                "issued_on": start.isoformat(),
                "due_on": (start + timedelta(days=30)).isoformat(),
                "po_number": order["po_number"],
                "lines": lines,
                "billing_contact": order["billing_contact"],
                "account_name": account["name"],
                "country": account["country"],
                "payment_method": "invoice",
            }
        )
        contact = invoice.billing_contact
        copied = tuple(Contact(c["name"], c["email"]) for c in account["contacts"].values())
        emails.append(
            InvoiceEmail(
                locale=choose_locale(contact.locale, default_locale(invoice.country)),
                context={"invoice": invoice, "recipient": contact, "payment": invoice_payment_options(invoice)},
                recipients=Recipients(to=(Contact(contact.name, contact.email),), cc=copied),
                message_id=f"<render.{i}@invoice-worker.example>",
            )
        )
    return emails


def build_invoice_email(email: InvoiceEmail) -> bytes:
    """Render the invoice email and build its MIME message, as a worker does before sending."""
    rendered = render("invoice", email.context, email.locale)
    return build_message(rendered, email.recipients, mail_from=MAIL_FROM, message_id=email.message_id, sent_at=_NOW)


@dataclass(frozen=True)
class Samples:
    """Milliseconds per email: elapsed, and the CPU time of the measuring thread."""

    wall_ms: list[float]
    cpu_ms: list[float]


def measure(rounds: list[list[InvoiceEmail]]) -> Samples:
    """Render + MIME of each email of each round, timed once.

    Each round should hold other invoices than the last (other amounts): a run of a worker
    formats mostly new values, so a round that repeats the last would flatter any cache. The CPU
    time leaves out the time other processes held the core, which the elapsed time includes.
    """
    everything = [email for emails in rounds for email in emails]
    for locale in sorted({email.locale for email in everything}):
        # Compile each (kind, locale) before timing: a worker does it once, at start.
        build_invoice_email(next(email for email in everything if email.locale == locale))
    samples = Samples([], [])
    for emails in rounds:
        for email in emails:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            build_invoice_email(email)
            samples.cpu_ms.append((time.thread_time_ns() - started_cpu) / 1e6)
            samples.wall_ms.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print, and return, the median and p99 ms per invoice email (elapsed; CPU time too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=DEFAULT_INVOICES)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    args = parser.parse_args(argv)
    # Countries without a supported locale fall back, as in the benchmark; one warning each is noise here.
    logging.getLogger("worker.domain.locales").setLevel(logging.ERROR)
    rounds = [invoice_emails(args.invoices, seed=DEFAULT_SEED + n) for n in range(args.rounds)]
    samples = measure(rounds)
    result: dict[str, Any] = {
        "samples": len(samples.wall_ms),
        "median_ms": median(samples.wall_ms),
        "p99_ms": percentile(samples.wall_ms, 0.99),
        "cpu_median_ms": median(samples.cpu_ms),
        "cpu_p99_ms": percentile(samples.cpu_ms, 0.99),
        "locales": sorted({email.locale for email in rounds[0]}),
    }
    print(
        f"render + MIME per invoice email: median {result['median_ms']:.3f} ms, p99 {result['p99_ms']:.3f} ms "
        f"(CPU: median {result['cpu_median_ms']:.3f} ms, p99 {result['cpu_p99_ms']:.3f} ms; "
        f"{result['samples']} samples, {len(result['locales'])} locales)"
    )
    return result


if __name__ == "__main__":
    main()
