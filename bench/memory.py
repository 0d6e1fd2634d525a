"""Where a worker's memory goes: the resident set of one fresh process after each thing a worker
loads, in the order a worker meets them.

1. the modules `invoice-worker run` imports;
2. the invoice email in every supported locale (its compiled templates and the locales' CLDR data);
3. every other email kind in every supported locale (what a long-running worker compiles at start);
4. the invoice documents: a Latin one (Typst, its template, the Latin faces), then the Japanese
   one (the CJK face that also serves simplified Chinese and Korean), the traditional Chinese one
   (its own face), then every other supported locale's.

Each figure is what the resident set grew by (VmRSS, MB), allocator and all: what a worker pays,
not the size of the objects. The benchmark's workers hold more at their peak, what the
deliveries in flight leave in the heap (`python -m bench` reports that peak).

    .venv/bin/python -m bench.memory [--json out/memory.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
from pathlib import Path
from typing import Any

#: The documents laid out first, each alone: each brings a face of its own (worker/documents/fonts.py).
FIRST_DOCUMENTS = ("nl-NL", "ja-JP", "zh-TW")


def resident_mb() -> float:
    """This process's resident set now (VmRSS), in MB."""
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure() -> list[tuple[str, float]]:
    """(stage, MB the resident set grew by) for each stage, in order; the first is the interpreter."""
    stages = [("interpreter", resident_mb())]

    def stage(name: str) -> None:
        stages.append((name, resident_mb() - sum(mb for _, mb in stages)))

    for module in ("worker.runtime.actors", "worker.runtime.runner"):  # what `run` imports
        importlib.import_module(module)

    stage("imports of `run`")
    from bench.render import invoice_emails
    from worker.domain.locales import SUPPORTED_LOCALES
    from worker.emails.rendering import default_renderer, render
    from worker.services.documents import build_documents, stand_in_account

    context = invoice_emails(1)[0].context
    for locale in SUPPORTED_LOCALES:
        render("invoice", context, locale)
    stage(f"the invoice email in {len(SUPPORTED_LOCALES)} locales, with their CLDR data")
    kinds = default_renderer().warm()
    stage(f"every email kind in every locale ({kinds} templates in all)")
    invoice = context["invoice"]
    account = stand_in_account(invoice)
    for locale in FIRST_DOCUMENTS:
        build_documents(invoice, account, locale=locale)
        stage(f"the {locale} invoice document")
    rest = [locale for locale in SUPPORTED_LOCALES if locale not in FIRST_DOCUMENTS]
    for locale in rest:
        build_documents(invoice, account, locale=locale)
    stage(f"the other {len(rest)} locales' documents")
    return stages


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Print, and return, the stages and the resident set after the last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    args = parser.parse_args(argv)
    # Countries without a selling entity or a supported locale fall back; a warning each is noise here.
    logging.disable(logging.WARNING)
    stages = measure()
    result: dict[str, Any] = {
        "stages_mb": dict(stages),
        "resident_mb": sum(mb for _, mb in stages),
    }
    width = max(len(name) for name, _ in stages)
    for name, mb in stages:
        print(f"{name:<{width}}  {mb:+7.1f} MB")
    print(f"{'resident in all':<{width}}  {result['resident_mb']:7.1f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
