"""The tasks ``riskline log verify --workers N`` hands to worker processes (``audit.verify_node``).

Kept apart from ``audit`` so that a freshly spawned worker imports only the channel's checks and ``sqlite3``,
not the whole node. Each task reads its share of the log itself, read-only, and returns what the in-order
checks need (``riskline.channel.bundle.EntryFacts``); nothing is written.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from riskline.channel.bundle import EntryChecker, EntryFacts
from riskline.channel.errors import ChannelError
from riskline.channel.merkle import leaf_hash

if TYPE_CHECKING:
    from riskline.storage.seals import RowsChecked


class LogChanged(ChannelError):
    """The log changed while ``log verify`` read it (whose fault: nobody's; run it again)."""


STREAM_CHUNK = 5_000
"""Entries read per query when streaming the log: memory stays bounded whatever its length."""
_CHANGED = "stored data does not hash to the stored leaf hash"


def _connect(database: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)


def _rows(connection: sqlite3.Connection, start: int, end: int) -> list[tuple[int, bytes, bytes | str]]:
    rows = connection.execute(
        "SELECT idx, leaf_hash, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
    ).fetchall()
    if [row[0] for row in rows] != list(range(start, end)):
        raise LogChanged(f"log entries {start}..{end - 1} changed while they were being checked")
    return rows


def _facts(checker: EntryChecker, rows: list[tuple[int, bytes, bytes | str]]) -> Iterator[EntryFacts]:
    for _index, stored_hash, data in rows:
        leaf = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
        hashed = leaf_hash(leaf)
        yield checker.facts(leaf, hashed) if hashed == bytes(stored_hash) else EntryFacts(_CHANGED)


def facts_of_range(checker: EntryChecker, database: Path, start: int, end: int) -> list[EntryFacts]:
    """The facts of log entries ``start..end-1``, read from the node's database (SQLite, read-only); an entry
    whose stored leaf hash is not its data's fails with that reason."""
    with contextlib.closing(_connect(database)) as connection:
        rows = _rows(connection, start, end)
    return list(_facts(checker, rows))


def streamed_facts(checker: EntryChecker, database: Path, start: int, end: int) -> Iterator[EntryFacts]:
    """``facts_of_range`` in this process, read ``STREAM_CHUNK`` entries at a time."""
    with contextlib.closing(_connect(database)) as connection:
        for low in range(start, end, STREAM_CHUNK):
            yield from _facts(checker, _rows(connection, low, min(end, low + STREAM_CHUNK)))


def seals_of_range(
    key: bytes,
    database: Path,
    table: str,
    columns: Sequence[str],
    primary: Sequence[str],
    above: int | None,
    upto: int | None,
) -> RowsChecked:
    """``storage.seals.check_rows`` of the rows of ``table`` with ``above < rowid <= upto``, read from the node's
    database (read-only) under the row-seal ``key``."""
    from riskline.storage import seals  # the storage package only for this task: entry tasks stay light

    with contextlib.closing(_connect(database)) as connection:
        return seals.check_rows(connection, seals.Sealer(key), table, columns, primary, above=above, upto=upto)
