"""riskline.storage: the database edge. SQLite by default (one file per node), PostgreSQL by URL.

``open_database`` opens and migrates; ``WatchStore`` keeps runs, platforms and incidents. See docs/storage.md.
"""

from riskline.storage.engine import DEFAULT_FILE_NAME, Database, head_revision, known_revisions, open_database
from riskline.storage.errors import (
    DatabaseBusy,
    DatabaseNotFound,
    DatabaseUnavailable,
    DatabaseUnreadable,
    DiskFull,
    IncidentNotFound,
    NotARisklineDatabase,
    NotFound,
    PathIsDirectory,
    PlatformNotFound,
    PostgisMissing,
    RunNotFound,
    SchemaTooNew,
    StorageError,
    UnstorableValue,
)
from riskline.storage.watch_store import SeenSpan, StoredIncident, StoredPlatform, StoredRun, WatchStore

__all__ = [
    "DEFAULT_FILE_NAME",
    "Database",
    "DatabaseBusy",
    "DatabaseNotFound",
    "DatabaseUnavailable",
    "DatabaseUnreadable",
    "DiskFull",
    "IncidentNotFound",
    "NotARisklineDatabase",
    "NotFound",
    "PathIsDirectory",
    "PlatformNotFound",
    "PostgisMissing",
    "RunNotFound",
    "SchemaTooNew",
    "SeenSpan",
    "StorageError",
    "StoredIncident",
    "StoredPlatform",
    "StoredRun",
    "UnstorableValue",
    "WatchStore",
    "head_revision",
    "known_revisions",
    "open_database",
]
