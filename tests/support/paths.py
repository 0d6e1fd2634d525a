"""Where the checkout's files are, for tests that read them (fixtures, catalogs, the lock)."""

from pathlib import Path

#: The repository's top level.
ROOT = Path(__file__).resolve().parents[2]
#: `fixtures/` (bounce messages, the demo's events, preview contexts).
FIXTURES = ROOT / "fixtures"
