"""`python -m bench.memory`: a fresh process's resident set after each thing a worker loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.processes import PROJECT_ROOT


def test_it_reports_each_stage_and_the_cjk_faces_as_they_load(tmp_path: Path) -> None:
    # Given a fresh process on a machine whose CJK subsets are not built yet, when bench.memory runs
    out = tmp_path / "memory.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--json", str(out)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.read_text())
    stages = result["stages_mb"]
    # Then it names every stage in a worker's order, and the figures add up to what is resident
    assert list(stages)[:3] == [
        "interpreter",
        "imports of `run`",
        "the invoice email in 37 locales, with their CLDR data",
    ]
    assert "the ja-JP invoice document" in stages and "the zh-TW invoice document" in stages
    assert abs(sum(stages.values()) - result["resident_mb"]) < 0.01
    # and what it measures is there: the imports are tens of MB, and the first Japanese invoice
    # reads the CJK face's subsets (~7.5 MB a weight), not its whole font files (~20 MB a
    # weight: 41.6 MB for this stage before the subsets, 18.0 MB after, 2026-12-07)
    assert stages["imports of `run`"] > 30
    assert 5 < stages["the ja-JP invoice document"] < 30
    # and building the subsets on the way cost the worker nothing: their own process held the
    # ~220 MB it takes (243 MB for the first document when it was built in the worker)
    assert stages["the nl-NL invoice document"] < 60
    assert len(list((tmp_path / "cache").glob("invoice-worker/fonts/*/*.otf"))) == 4
    assert "resident in all" in done.stdout
