"""`status --state/--since/--kind`: the deliveries an operator asks for, and only those."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.services.status import filter_rows


def row(kind: str, created: str, *states: str) -> dict:
    return {
        "kind": kind,
        "created_at": created,
        "recipients": [{"address": f"r{i}@x.example", "state": s} for i, s in enumerate(states)],
    }


ROWS = [
    row("invoice", "2026-11-30T10:00:00+00:00", "accepted", "deferred"),
    row("invoice", "2026-12-01T10:00:00+00:00", "accepted"),
    row("overdue_reminder", "2026-12-02T10:00:00+00:00", "rejected"),
]


def test_each_filter_keeps_only_what_it_names_and_they_combine() -> None:
    assert filter_rows(ROWS) == ROWS
    assert filter_rows(ROWS, state="deferred") == [ROWS[0]]
    assert filter_rows(ROWS, kind="overdue_reminder") == [ROWS[2]]
    assert filter_rows(ROWS, since=datetime(2026, 12, 1, tzinfo=UTC)) == ROWS[1:]
    assert filter_rows(ROWS, since=datetime(2026, 12, 1, tzinfo=UTC), kind="invoice") == [ROWS[1]]
    assert filter_rows(ROWS, state="suppressed") == []
