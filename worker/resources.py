"""Files shipped inside the package, read with importlib.resources: email templates, gettext
catalogs, the document template, the demo's and preview's fixtures.

In the repository they live at the top level (`templates/email/`, `locales/`, `fixtures/`);
`worker/_resources/` links to them, and the wheel carries them there as package data.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _resource_dir(name: str) -> Path:
    # A wheel installs as plain files, so the resource is a real directory (Jinja's loader and
    # gettext need paths); a zipped install is not supported.
    return Path(str(files("worker").joinpath("_resources", name)))


def templates_dir() -> Path:
    """`<kind>/{subject.txt, body.mjml, body.txt}` and `_base/`."""
    return _resource_dir("templates") / "email"


def document_templates_dir() -> Path:
    """The invoice document's Typst template (`invoice.typ`) and what it includes."""
    return _resource_dir("templates") / "document"


def locales_dir() -> Path:
    """`<lang>/LC_MESSAGES/messages.po` (compiled in memory when loaded, never on disk)."""
    return _resource_dir("locales")


def fixtures_dir() -> Path:
    """`events.jsonl` (the demo's events) and `preview/<kind>.json`."""
    return _resource_dir("fixtures")
