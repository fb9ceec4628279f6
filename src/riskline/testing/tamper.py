"""A hostile operator's hands on a node's database, for the tests that prove ``riskline log verify`` sees them.

The node's seal triggers call functions only the node registers, so plain ``sqlite3`` cannot write a sealed
table; a hostile operator drops the triggers first, and so does ``hostile``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def hostile(database: Path) -> Iterator[sqlite3.Connection]:
    """A plain ``sqlite3`` connection to ``database`` with the seal triggers dropped; commits on exit."""
    connection = sqlite3.connect(database)
    try:
        names = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'riskline_seal_%'"
        ).fetchall()
        for (name,) in names:
            connection.execute(f'DROP TRIGGER "{name}"')
        yield connection
        connection.commit()
    finally:
        connection.close()
