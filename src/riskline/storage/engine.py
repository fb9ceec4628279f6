"""Open riskline's database: one SQLite file per node by default, any SQLAlchemy URL (PostgreSQL) if asked.

SQLite, per connection (an event listener, so pooled connections get it too):

* ``journal_mode=WAL``: readers never block the writer and a crash (even SIGKILL) loses no committed
  transaction and never corrupts the file (https://sqlite.org/wal.html).
* ``synchronous=NORMAL`` by default: in WAL mode it is safe against application crashes; only a power loss
  may drop the last commits (never corrupt). ``FULL`` syncs the WAL on every commit, for the channel, where a
  commit promised to a peer must survive a power cut too (https://sqlite.org/pragma.html#pragma_synchronous).
* ``foreign_keys=ON`` (SQLite leaves them off) and ``busy_timeout`` (wait for another writer's lock).
* riskline emits ``BEGIN`` itself instead of the ``sqlite3`` driver's legacy transaction control, so that
  SELECTs and DDL are inside the transaction too (the SQLAlchemy recipe "Serializable isolation / Savepoints /
  Transactional DDL"); write transactions use ``BEGIN IMMEDIATE`` so two writers queue on ``busy_timeout``
  instead of failing when a read lock cannot be upgraded.

Migrations are alembic scripts shipped inside the package (``storage/migrations``); the alembic ``Config`` is
built in code, so no ``alembic.ini`` is needed on disk. ``open_database`` upgrades to the newest revision in
one transaction: a crash or an error leaves the database at the revision it had.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import unquote

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from riskline.storage.errors import (
    DatabaseBusy,
    DatabaseNotFound,
    DatabaseUnreadable,
    DiskFull,
    NotARisklineDatabase,
    PathIsDirectory,
    PostgisMissing,
    SchemaTooNew,
    StorageError,
)

DEFAULT_FILE_NAME: Final = "riskline.db"
"""The database file a node uses when it is told nothing else."""

MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
"""Alembic's script location, inside the installed package."""

Synchronous = Literal["NORMAL", "FULL"]

_SQLITE_HEADER: Final = b"SQLite format 3\x00"  # https://sqlite.org/fileformat.html#the_database_header
_URL_PATTERN: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_PASSWORD_PATTERN: Final = re.compile(r"//([^:/@]*):[^@/]*@")
_WAL_RETRY_S: Final = 0.01  # [s]
_BEGIN_OPTION: Final = "riskline_sqlite_begin"
_UPGRADE_LOCK_KEY: Final = 0x7269736B6C696E65  # "riskline": one PostgreSQL advisory lock for all upgraders
_WRITE_LOCK_KEY: Final = 0x7269736B6C696E66  # one PostgreSQL advisory lock for all writers (``begin``)
_DRIVERLESS: Final = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}
"""URL schemes without a driver, and the driver riskline ships for them (psycopg 3, not SQLAlchemy's psycopg2)."""


def _json_dumps(value: object) -> str:
    """Compact, strict JSON: NaN and infinities are refused (PostgreSQL would refuse them too)."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def alembic_config(connection: Connection | None = None) -> Config:
    """The alembic configuration of riskline's migrations, built in code; ``connection`` is where they run.

    Revision files are named ``v<revision id>.py`` (``file_template``) so that they are valid module names.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "v%%(rev)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def known_revisions() -> tuple[str, ...]:
    """Every revision this code ships, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return tuple(reversed([revision.revision for revision in script.walk_revisions()]))


def head_revision() -> str:
    """The newest revision this code ships: where ``open_database`` takes every database."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StorageError(f"{MIGRATIONS}: no migration scripts found; the riskline installation is incomplete")
    return head


class Database:
    """An open riskline database: the SQLAlchemy ``Engine`` and the transactions riskline runs on it.

    Build it with ``open_database``. ``where`` names it in every error message (a path, or a URL without
    its password).
    """

    def __init__(self, engine: Engine, where: str, *, busy_timeout_s: float) -> None:
        self._engine = engine
        self.where = where
        self._busy_timeout_s = busy_timeout_s  # [s]
        self._writer = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})

    def __repr__(self) -> str:
        return f"Database({self.where!r})"

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: commits when the block ends, rolls back if it raises.

        On SQLite it starts with ``BEGIN IMMEDIATE``: it takes the write lock at once, waiting up to
        ``busy_timeout`` for another writer, and raises ``DatabaseBusy`` if that is not enough.
        """
        with self._translated(), self._writer.connect() as connection, connection.begin():
            if self.dialect == "postgresql":
                self._take_write_lock(connection)
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot for every statement in the block; never blocks a writer.

        On PostgreSQL that takes ``REPEATABLE READ`` (its default, ``READ COMMITTED``, gives each statement
        its own snapshot, so a long report could count rows a writer added half-way through).
        """
        with self._translated(), self._engine.connect() as connection:
            if self.dialect == "postgresql":
                connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                yield connection

    def _take_write_lock(self, connection: Connection) -> None:
        """PostgreSQL: one writer at a time, as SQLite's ``BEGIN IMMEDIATE`` gives, waiting ``busy_timeout``.

        Callers such as the node's Merkle log read the log size and append at that index in one transaction;
        under ``READ COMMITTED`` two of them would both append at the same index. A transaction-scoped
        advisory lock queues writers exactly as SQLite does, without serialisation failures to retry.
        """
        timeout_ms = max(1, round(self._busy_timeout_s * 1000))
        connection.execute(sa.text(f"SET LOCAL lock_timeout = {timeout_ms:d}"))
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _WRITE_LOCK_KEY})

    def revision(self) -> str | None:
        """The schema revision the database is at (``0001_watch``, …); None for a database never upgraded."""
        with self.read() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def upgrade(self, revision: str = "head") -> None:
        """Migrate to ``revision`` (default: the newest this code ships) in one transaction; idempotent.

        Raises ``SchemaTooNew`` if the database is at a revision this code does not know, and
        ``NotARisklineDatabase`` if it holds tables but no riskline revision. Nothing is changed then.
        """
        with self.begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            self._check_schema(connection)
            try:
                command.upgrade(alembic_config(connection), revision)
            except PostgisMissing as error:
                raise PostgisMissing(f"{self.where}: {error}") from None

    def check(self) -> None:
        """Raise as ``upgrade`` would, without changing anything."""
        with self.read() as connection:
            self._check_schema(connection)

    def close(self) -> None:
        """Close every pooled connection; the ``Database`` must not be used afterwards."""
        self._engine.dispose()

    def _check_schema(self, connection: Connection) -> None:
        heads = MigrationContext.configure(connection).get_current_heads()
        known = set(known_revisions())
        for head in heads:
            if head not in known:
                raise SchemaTooNew(
                    f"{self.where}: database schema {head!r} is newer than this riskline "
                    f"(which knows up to {head_revision()!r}); upgrade riskline to open it"
                )
        if not heads:
            foreign = sorted(
                name
                for name in user_tables(connection)
                if name != "alembic_version" and not name.startswith("sqlite_")
            )
            if foreign:
                shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
                raise NotARisklineDatabase(
                    f"{self.where}: not a riskline database (it has tables {shown} but no riskline schema revision)"
                )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors about the database itself become one-line ``StorageError``s; the rest pass through."""
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise self._storage_error(error) from error
        except exc.DatabaseError as error:
            if type(error) is not exc.DatabaseError:
                raise  # IntegrityError, ProgrammingError, DataError: a bug in the caller, not the database
            raise self._storage_error(error) from error

    def _storage_error(self, error: exc.DBAPIError) -> StorageError:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else "unknown error"
        if "database is locked" in reason or "database table is locked" in reason or "lock timeout" in reason:
            return DatabaseBusy(
                f"{self.where}: database is locked by another writer (waited {self._busy_timeout_s:g} s)"
            )
        if "database or disk is full" in reason:
            return DiskFull(f"{self.where}: the disk is full; the write was rolled back whole (free some space)")
        if "file is not a database" in reason:
            return NotARisklineDatabase(f"{self.where}: not a riskline database (not an SQLite file)")
        return DatabaseUnreadable(f"{self.where}: {reason}")


def user_tables(connection: Connection) -> list[str]:
    """The tables in the database's schema, less those an extension owns (PostGIS's ``spatial_ref_sys``)."""
    if connection.dialect.name != "postgresql":
        return list(sa.inspect(connection).get_table_names())
    query = sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT EXISTS "
        "(SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')"
    )
    return [str(name) for name in connection.execute(query).scalars()]


def open_database(
    target: str | Path,
    *,
    create: bool = True,
    upgrade: bool = True,
    synchronous: Synchronous = "NORMAL",
    busy_timeout_s: float = 5.0,
) -> Database:
    """Open (and by default create and upgrade) riskline's database.

    ``target`` is a filesystem path (SQLite; a node's file is usually ``riskline.db``) or a SQLAlchemy URL:
    ``sqlite:///riskline.db``, ``sqlite://`` (in memory, for tests), ``postgresql+psycopg://host/db``.
    ``create=False`` refuses to create a missing SQLite file. ``upgrade=False`` checks the schema but leaves
    it as it is. ``synchronous`` and ``busy_timeout_s`` [s] apply to SQLite only.
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
    if not busy_timeout_s >= 0:
        raise ValueError(f"busy_timeout_s must be zero or more seconds, not {busy_timeout_s!r}")
    url, path = _resolve(target)
    where = str(path) if path is not None else unquote(url.render_as_string(hide_password=True))
    if path is not None:
        _check_path(path, create=create)
    engine = _create_engine(url, where, synchronous=synchronous, busy_timeout_s=busy_timeout_s)
    database = Database(engine, where, busy_timeout_s=busy_timeout_s)
    try:
        if upgrade:
            database.upgrade()
        else:
            database.check()
    except BaseException:
        database.close()
        raise
    return database


def _resolve(target: str | Path) -> tuple[URL, Path | None]:
    """The URL to connect to, and the SQLite file behind it (None in memory or on a server)."""
    if isinstance(target, Path) or not _URL_PATTERN.match(target):
        path = Path(target).expanduser()
        return URL.create("sqlite+pysqlite", database=str(path)), path
    try:
        url = make_url(target)
    except (exc.ArgumentError, ValueError):
        raise StorageError(f"{hide_password(target)}: not a database URL or path") from None
    if url.drivername in _DRIVERLESS:
        url = url.set(drivername=_DRIVERLESS[url.drivername])
    database = url.database
    if url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:") and "uri" not in url.query:
        return url, Path(database)
    return url, None


def hide_password(text: str) -> str:
    return _PASSWORD_PATTERN.sub(r"//\1:***@", text)


def _check_path(path: Path, *, create: bool) -> None:
    """Refuse, with a one-line reason, a path SQLite would fail on or silently turn into something else."""
    if path.is_dir():
        raise PathIsDirectory(f"{path}: is a directory, not a database file (try {path / DEFAULT_FILE_NAME})")
    if not path.exists():
        if not create:
            raise DatabaseNotFound(f"{path}: no such database file")
        parent = path.parent
        if not parent.exists():
            raise DatabaseUnreadable(f"{path}: cannot create the database: directory {parent} does not exist")
        if not parent.is_dir():
            raise DatabaseUnreadable(f"{path}: cannot create the database: {parent} is not a directory")
        return
    try:
        with path.open("rb") as file:
            header = file.read(len(_SQLITE_HEADER))
    except OSError as error:
        raise DatabaseUnreadable(f"{path}: cannot read the database file: {error.strerror}") from None
    if header and header != _SQLITE_HEADER:
        raise NotARisklineDatabase(f"{path}: not a riskline database (not an SQLite file)")


def _create_engine(url: URL, where: str, *, synchronous: Synchronous, busy_timeout_s: float) -> Engine:
    options: dict[str, Any] = {"json_serializer": _json_dumps}
    is_sqlite = url.get_backend_name() == "sqlite"
    if is_sqlite and url.database in (None, "", ":memory:"):
        # One shared in-memory database for every thread (a pool of several would give each its own).
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    elif not is_sqlite:
        options.update(pool_pre_ping=True)
    try:
        engine = sa.create_engine(url, **options)
    except (ImportError, exc.NoSuchModuleError) as error:
        raise DatabaseUnreadable(f"{where}: cannot open: database driver not installed ({error})") from None
    except (exc.ArgumentError, ValueError):
        raise StorageError(f"{url.render_as_string(hide_password=True)}: not a database URL or path") from None
    if is_sqlite:
        _configure_sqlite(engine, synchronous=synchronous, busy_timeout_s=busy_timeout_s)
    return engine


def _configure_sqlite(engine: Engine, *, synchronous: Synchronous, busy_timeout_s: float) -> None:
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # riskline emits BEGIN itself (on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {round(busy_timeout_s * 1000):d}")
            _enable_wal(cursor, busy_timeout_s)
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA synchronous = {synchronous}")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    listen: Callable[..., None] = event.listen
    listen(engine, "connect", on_connect)
    listen(engine, "begin", on_begin)


def _enable_wal(cursor: sqlite3.Cursor, busy_timeout_s: float) -> None:
    """Switch to WAL (a setting kept in the file), retrying while another connection holds the lock.

    Changing the journal mode of a fresh file fails at once with "database is locked" when another
    connection is creating it, without calling the busy handler; so this waits up to ``busy_timeout`` itself.
    """
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(_WAL_RETRY_S)
