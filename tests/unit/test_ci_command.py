"""`.ci/run` runs exactly the README's test command (the second shell block), so CI is what a newcomer runs."""

from __future__ import annotations

import re

from tests.support.paths import ROOT


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_opens_with_the_demo_then_the_test_command_that_ci_runs() -> None:
    demo, tests = shell_blocks()[:2]
    assert demo.endswith("invoice-worker demo") and "-r lock/runtime.txt" in demo
    for gate in ("ruff check", "ruff format --check", "mypy", "lint-imports", "pytest"):
        assert gate in tests
    assert "-r lock/dev.txt" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci_lines[-1] == tests
