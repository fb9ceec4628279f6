"""Helpers the channel store's modules share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

IN_CHUNK = 500
"""Most values in one SQL ``IN (…)`` list (SQLite allows 32,766 bound parameters; PostgreSQL 65,535)."""


def insert_if_absent(table: sa.Table, columns: tuple[str, ...], key: tuple[str, ...]) -> sa.Insert:
    """``INSERT INTO table (columns) SELECT :columns WHERE NOT EXISTS (a row with the same key)``."""
    values = sa.select(*(sa.bindparam(name, type_=table.c[name].type) for name in columns))
    present = sa.exists().where(*(table.c[name] == sa.bindparam(name, type_=table.c[name].type) for name in key))
    return table.insert().from_select(list(columns), values.where(~present))


def fields(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__dataclass_fields__}
