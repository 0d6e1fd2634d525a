"""The built wheel works outside the checkout: templates, catalogs, fixtures, data and the store's
Lua scripts travel inside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel .` builds, unpacked as pip would install it into site-packages."""
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the checkout without build output: setuptools reuses a build/ folder
    # it finds, and a file deleted since would still be in the wheel.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv*", "build", "dist", "out", "var", "*.egg-info", "__pycache__"),
    )
    # --no-build-isolation: the locked setuptools of this venv builds it, without a download.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("invoice_worker-*.whl")
    site = out / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def outside_the_checkout(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The unpacked wheel comes first on the path, ahead of this venv's editable install.
    env = {**os.environ, "PYTHONPATH": str(site)}
    env = {k: v for k, v in env.items() if not k.startswith(("REDIS_", "SMTP_"))}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_wheel_holds_the_package_only_with_its_templates_catalogs_and_data(installed_wheel: Path) -> None:
    # Nothing but the package (and its metadata) lands at the top of site-packages
    top = {path.name for path in installed_wheel.iterdir()}
    assert top == {"worker", "invoice_worker-0.1.0.dist-info"}
    files = {path.relative_to(installed_wheel).as_posix() for path in installed_wheel.rglob("*") if path.is_file()}
    for kind in ("invoice", "card_failed", "rewards_code", "redemption", "bounce_notice"):
        assert f"worker/_resources/templates/email/{kind}/body.mjml" in files
    assert "worker/_resources/locales/ar/LC_MESSAGES/messages.po" in files
    assert "worker/_resources/fixtures/events.jsonl" in files
    assert "worker/_resources/templates/document/invoice.typ" in files
    assert {"worker/data/countries.json", "worker/data/card_limits.json", "worker/settings.py"} <= files
    # The store's Lua scripts, which it reads from the package, and the helpers spliced into them
    assert {"worker/store/scripts/settle_window.lua", "worker/store/scripts/claim_due.lua"} <= files
    assert {"worker/store/scripts/lib/order_record.lua", "worker/store/scripts/lib/subscription_orders.lua"} <= files
    # The catalogs are compiled in memory: no .mo is shipped or needed
    assert not [name for name in files if name.endswith(".mo")]


def test_demo_and_preview_all_run_from_the_wheel_in_another_directory(installed_wheel: Path, tmp_path: Path) -> None:
    # Given a directory that is not the checkout
    where = outside_the_checkout(installed_wheel, tmp_path, "-c", "import worker; print(worker.__file__)")
    assert where.stdout.strip() == str(installed_wheel / "worker" / "__init__.py")

    # When the demo runs there, then every fixture email is written as .eml files
    demo = outside_the_checkout(installed_wheel, tmp_path, "-m", "worker.cli", "demo", "--out", "demo")
    assert demo.returncode == 0, demo.stderr
    assert "nl-NL" in demo.stdout and "demo took" in demo.stdout
    emls = list((tmp_path / "demo" / "mail").rglob("*.eml"))
    assert len(emls) >= 10
    # and the invoices carry their PDFs, built from the wheel's own template
    assert sum(b"Content-Type: application/pdf" in path.read_bytes() for path in emls) >= 8

    # When every kind is previewed in every locale, then the gallery is written, in Arabic too
    preview = outside_the_checkout(installed_wheel, tmp_path, "-m", "worker.cli", "preview", "--all", "--out", "g")
    assert preview.returncode == 0, preview.stderr
    assert (tmp_path / "g" / "index.html").is_file()
    assert 'dir="rtl"' in (tmp_path / "g" / "invoice" / "ar" / "body.html").read_text(encoding="utf-8")

    # And nothing was written into the installed package
    assert not list(installed_wheel.rglob("*.mo"))
