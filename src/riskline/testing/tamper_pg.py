"""A hostile operator's hands on a node's PostgreSQL database: ``psql`` on the server, as the tests use it.

The node's seal triggers refuse a session that is not the node's (``storage/seals_pg.py``); a hostile operator
with the database's superuser turns them off for the session (``session_replication_role = replica``, which
skips ordinary triggers) and writes what they like. ``riskline log verify`` must then name the row.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from riskline.testing.postgres import server_bin


@dataclass(frozen=True, slots=True)
class PsqlResult:
    ok: bool
    output: str


def psql(url: str, sql: str, *, triggers: bool = False) -> PsqlResult:
    """Run ``sql`` with ``psql`` on the database of ``url`` (a test cluster's, over its socket) in one
    transaction; without ``triggers`` (default) the node's seal triggers are skipped, as a hostile superuser would."""
    parsed = make_url(url)
    host = str(parsed.query.get("host", ""))
    prelude = "" if triggers else "SET session_replication_role = replica;\n"
    command = [
        str(Path(server_bin()) / "psql"),
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "--single-transaction",
        "-h",
        host,
        "-U",
        str(parsed.username),
        "-d",
        str(parsed.database),
        "-c",
        prelude + sql,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return PsqlResult(result.returncode == 0, (result.stdout + result.stderr).strip())
