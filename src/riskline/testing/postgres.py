"""A throwaway PostgreSQL 15 cluster for tests and benchmarks: ``initdb`` in a temporary directory, ``pg_ctl``
on a unix socket there (no TCP port, so nothing to collide with), a fresh database per test, torn down after.

The server binaries are Debian's (``apt-get install postgresql-15 postgresql-15-postgis-3``), looked for in
``/usr/lib/postgresql/15/bin`` (or ``$RISKLINE_PG_BIN``). PostgreSQL refuses to run as root, so as root (CI) the
cluster belongs to the ``postgres`` user and every server command runs through ``runuser -u postgres --``;
as anyone else it runs as that user. ``fsync=off``: a test cluster is thrown away, durability is not tested here.

    with PostgresCluster.start() as cluster:
        url = cluster.create_database()      # postgresql+psycopg://riskline@/t1?host=/tmp/riskline-pg-…
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

DEFAULT_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "riskline"
"""The cluster's superuser (``initdb -U``); tests connect as it through the socket with ``trust``."""


class ClusterUnavailable(RuntimeError):
    """The PostgreSQL binaries are missing or the cluster would not start; the message says which."""


def server_bin() -> Path:
    return Path(os.environ.get("RISKLINE_PG_BIN", str(DEFAULT_BIN)))


def missing_reason() -> str | None:
    """Why a throwaway cluster cannot be started here (None if it can): a one-line skip reason for tests."""
    binaries = server_bin()
    for name in ("initdb", "pg_ctl"):
        if not (binaries / name).is_file():
            return f"PostgreSQL 15 not installed ({binaries / name} missing; apt-get install postgresql-15)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL as the postgres user"
    return None


def postgis_available() -> bool:
    """PostGIS 3 installed for PostgreSQL 15 (Debian's ``postgresql-15-postgis-3``)."""
    return Path("/usr/share/postgresql/15/extension/postgis.control").is_file()


@dataclass
class PostgresCluster:
    """A running throwaway cluster; ``stop()`` (or leaving the ``with`` block) kills it and deletes its files."""

    root: Path
    socket_dir: Path
    _counter: itertools.count[int]

    @classmethod
    def start(cls) -> PostgresCluster:
        reason = missing_reason()
        if reason is not None:
            raise ClusterUnavailable(reason)
        root = Path(tempfile.mkdtemp(prefix="riskline-pg-"))
        data, sockets = root / "data", root / "run"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            shutil.chown(sockets, "postgres", "postgres")
        cluster = cls(root, sockets, itertools.count(1))
        try:
            cluster._run(
                "initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8",
                "--no-sync",
            )
            options = (
                f"-k {sockets} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=60 -c shared_buffers=32MB"
            )
            cluster._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
        except BaseException:
            cluster._remove()
            raise
        return cluster

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` on this cluster (psycopg 3 over the unix socket)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def create_database(self, *, postgis: bool = True) -> str:
        """A new empty database (with the PostGIS extension if installed and asked); its URL."""
        import psycopg

        name = f"t{next(self._counter)}"
        with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        if postgis and postgis_available():
            with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname=name, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self.url(name)

    def stop(self) -> None:
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        self._remove()

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *arguments: str, check: bool = True) -> None:
        command = [str(server_bin() / program), *arguments]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.root, check=False)
        if check and result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ClusterUnavailable(f"{program} failed (exit {result.returncode}): {last[0]}")
