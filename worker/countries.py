"""Per-country facts, read from the data file `countries.json` beside this module."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

COUNTRIES_FILE = Path(__file__).with_name("countries.json")


@lru_cache(maxsize=1)
def countries() -> dict[str, dict[str, Any]]:
    return json.loads(COUNTRIES_FILE.read_text(encoding="utf-8"))


def country_facts(country: str | None) -> dict[str, Any]:
    return countries().get(country or "", {})


def default_locale(country: str | None) -> str | None:
    return country_facts(country).get("default_locale")
