"""The invoice window (DOMAIN.md section 1): when activated lines are invoiced. Pure.

A window opens at the earliest activation not yet invoiced. It closes when every remaining line of
the order is active, or `window_days` after it opened, whichever comes first. The lines activated
by the close form one invoice; the next activation opens a new window. Timestamps come from the
events, so a window whose close lies in the past closes at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Default length of a window, in days.
DEFAULT_WINDOW_DAYS = 15


@dataclass(frozen=True)
class ClosedWindow:
    opened_at: datetime
    closed_at: datetime
    line_ids: tuple[str, ...]


@dataclass(frozen=True)
class WindowState:
    """What is invoiceable now, and when the window still open (if any) closes."""

    closed: tuple[ClosedWindow, ...]
    next_close_at: datetime | None


def evaluate_windows(
    line_ids: Iterable[str],
    activations: Mapping[str, datetime],
    invoiced: Iterable[str],
    *,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
) -> WindowState:
    """Split the order's uninvoiced activations into closed windows, in order of opening."""
    remaining = [line for line in line_ids if line not in set(invoiced)]
    window = timedelta(days=window_days)
    closed: list[ClosedWindow] = []
    while True:
        active = [line for line in remaining if line in activations]
        if not active:
            return WindowState(tuple(closed), None)
        opened_at = min(activations[line] for line in active)
        close_at = opened_at + window
        if len(active) == len(remaining):
            close_at = min(close_at, max(activations[line] for line in active))
        if now < close_at:
            return WindowState(tuple(closed), close_at)
        in_window = tuple(line for line in active if activations[line] <= close_at)
        closed.append(ClosedWindow(opened_at, close_at, in_window))
        remaining = [line for line in remaining if line not in in_window]
