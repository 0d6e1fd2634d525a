"""The `invoice-worker` command (shared/CONTRACT.md)."""

from worker.cli.main import main

__all__ = ["main"]
