"""The tasks ``riskline log verify --workers N`` hands to worker processes (``audit.verify_node``).

Kept apart from ``audit`` so that a freshly spawned worker imports only the channel's checks and ``sqlite3``,
not the whole node. Each task reads its share of the log itself, read-only, and returns what the in-order
checks need (``riskline.channel.bundle.EntryFacts``); nothing is written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from riskline.channel.bundle import EntryChecker, EntryFacts
from riskline.channel.errors import ChannelError


class LogChanged(ChannelError):
    """The log changed while ``log verify`` read it (whose fault: nobody's; run it again)."""


def facts_of_range(checker: EntryChecker, database: Path, start: int, end: int) -> list[EntryFacts]:
    """The facts of log entries ``start..end-1``, read from the node's database (SQLite, read-only)."""
    with contextlib.closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as connection:
        rows = connection.execute(
            "SELECT idx, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        ).fetchall()
    if [row[0] for row in rows] != list(range(start, end)):
        raise LogChanged(f"log entries {start}..{end - 1} changed while they were being checked")
    return checker.facts_of(bytes(row[1]) for row in rows)
