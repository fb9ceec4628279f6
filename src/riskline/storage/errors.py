"""Errors of the storage package; each carries the HTTP status a node answers with (datasette style).

    StorageError (500)                  root: the database cannot do what was asked
    ├── DatabaseUnavailable (503)       the database cannot be opened or used right now
    │   │                               (whose fault: the environment: disk, permissions, another process)
    │   ├── DatabaseNotFound (503)      no database file there, and ``create=False`` was asked
    │   ├── PathIsDirectory (503)       the path names a directory, not a database file (the operator's)
    │   ├── DatabaseUnreadable (503)    the file or server cannot be opened or read: permissions, a missing
    │   │                               parent directory, an I/O error, a server that does not answer
    │   ├── DatabaseBusy (503)          another writer held the lock longer than ``busy_timeout``
    │   └── DiskFull (507)              the disk (or the database's size limit) is full: the transaction that
    │                                   hit it was rolled back whole, nothing of it is kept
    ├── NotARisklineDatabase (500)      the file is not SQLite, or is SQLite without riskline's schema
    │                                   (whose fault: whoever pointed riskline at it)
    ├── SchemaTooNew (500)              written by a newer riskline: this code does not know its revision
    │                                   (the operator must upgrade riskline; nothing is changed)
    ├── PostgisMissing (500)            PostgreSQL without the PostGIS extension, which riskline cannot add
    │                                   (the DBA must install or enable it; nothing is changed)
    ├── UnstorableValue (422)           a value that cannot be stored exactly: a non-finite number, a detail
    │                                   that is not plain JSON (whose fault: the caller); also a ``ValueError``
    └── NotFound (404)                  no such record (whose fault: the asker); also a ``LookupError``
        ├── IncidentNotFound (404)
        ├── RunNotFound (404)
        └── PlatformNotFound (404)

Every message is one line, fit for an operator at 3 a.m.; it names the database or the record.
"""

from __future__ import annotations

from riskline.errors import RisklineError


class StorageError(RisklineError):
    """Root of every storage error; ``http_status`` is the HTTP status a node answers with."""

    http_status = 500


class DatabaseUnavailable(StorageError):
    http_status = 503


class DatabaseNotFound(DatabaseUnavailable):
    pass


class PathIsDirectory(DatabaseUnavailable):
    pass


class DatabaseUnreadable(DatabaseUnavailable):
    pass


class DatabaseBusy(DatabaseUnavailable):
    pass


class DiskFull(DatabaseUnavailable):
    http_status = 507


class NotARisklineDatabase(StorageError):
    http_status = 500


class SchemaTooNew(StorageError):
    http_status = 500


class PostgisMissing(StorageError):
    http_status = 500


class UnstorableValue(StorageError, ValueError):
    http_status = 422


class NotFound(StorageError, LookupError):
    http_status = 404


class IncidentNotFound(NotFound):
    pass


class RunNotFound(NotFound):
    pass


class PlatformNotFound(NotFound):
    pass
