"""Opening riskline's database: SQLite settings on every connection, transactions, and one-line errors."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from riskline.ingest.stats import IngestStats
from riskline.storage import (
    DEFAULT_FILE_NAME,
    Database,
    DatabaseBusy,
    DatabaseNotFound,
    DatabaseUnavailable,
    DatabaseUnreadable,
    NotARisklineDatabase,
    PathIsDirectory,
    StorageError,
    WatchStore,
    open_database,
)
from riskline.storage.schema import ingest_runs


def pragmas(connection: sa.Connection) -> dict[str, object]:
    return {
        name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
        for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
    }


def test_a_path_opens_an_sqlite_file_in_wal_mode_with_foreign_keys_and_normal_sync(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_FILE_NAME
    with open_database(path) as db, db.read() as connection:
        assert db.dialect == "sqlite"
        assert db.where == str(path)
        assert pragmas(connection) == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 5000}
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"


def test_full_sync_and_the_busy_timeout_apply_to_every_pooled_connection(tmp_path: Path) -> None:
    with (
        open_database(tmp_path / "channel.db", synchronous="FULL", busy_timeout_s=0.25) as db,
        db.engine.connect() as first,
        db.engine.connect() as second,
    ):
        for connection in (first, second):
            assert pragmas(connection) == {
                "journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 250
            }


def test_a_sqlite_url_opens_the_same_file_as_its_path(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    with open_database(path) as db:
        run_id = WatchStore(db).begin_run(["a.nm4"], {}, 1_600_000_000.0)
    with open_database(f"sqlite:///{path}") as db:
        assert db.where == str(path)
        assert [run.id for run in WatchStore(db).runs()] == [run_id]


def test_an_in_memory_database_is_one_database_for_every_thread() -> None:
    with open_database("sqlite://") as db:
        store = WatchStore(db)
        worker = threading.Thread(target=store.begin_run, args=(["live"], {}, 1_600_000_000.0))
        worker.start()
        worker.join()
        assert [run.inputs for run in store.runs()] == [("live",)]


def test_a_directory_is_refused_with_a_hint_at_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(PathIsDirectory) as caught:
        open_database(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a database file (try {tmp_path / 'riskline.db'})"
    assert caught.value.http_status == 503


def test_a_missing_file_is_refused_and_not_created_when_create_is_false(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(DatabaseNotFound) as caught:
        open_database(path, create=False)
    assert str(caught.value) == f"{path}: no such database file"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_refused_rather_than_created(tmp_path: Path) -> None:
    path = tmp_path / "nodes" / "riskline.db"
    with pytest.raises(DatabaseUnreadable) as caught:
        open_database(path)
    assert str(caught.value) == f"{path}: cannot create the database: directory {tmp_path / 'nodes'} does not exist"


def test_a_file_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nodes").write_text("not a directory\n")
    path = tmp_path / "nodes" / "riskline.db"
    with pytest.raises(DatabaseUnreadable) as caught:
        open_database(path)
    assert str(caught.value) == f"{path}: cannot create the database: {tmp_path / 'nodes'} is not a directory"


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "test_data_20211101.nm4"
    shutil.copyfile(data_dir / "ais" / "test_data_20211101.nm4", path)
    before = path.read_bytes()
    with pytest.raises(NotARisklineDatabase) as caught:
        open_database(path)
    assert str(caught.value) == f"{path}: not a riskline database (not an SQLite file)"
    assert caught.value.http_status == 500
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test_data_20211101.nm4"]


def test_an_sqlite_file_of_another_application_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (body TEXT)")
        other.execute("CREATE TABLE tags (name TEXT)")
    with pytest.raises(NotARisklineDatabase) as caught:
        open_database(path)
    assert str(caught.value) == (
        f"{path}: not a riskline database (it has tables notes, tags but no riskline schema revision)"
    )
    with sqlite3.connect(path) as other:
        tables = other.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall()
    assert tables == [("notes",), ("tags",)]


def test_an_empty_file_becomes_a_riskline_database(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    path.touch()
    with open_database(path) as db:
        assert WatchStore(db).runs() == []


def test_a_writer_that_waits_longer_than_the_busy_timeout_gets_database_busy(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    with open_database(path) as holder, open_database(path, busy_timeout_s=0.05) as latecomer:
        with holder.begin(), pytest.raises(DatabaseBusy) as caught, latecomer.begin():
            pass
        assert str(caught.value) == f"{path}: database is locked by another writer (waited 0.05 s)"
        assert caught.value.http_status == 503


def test_a_reader_sees_the_last_commit_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    with open_database(path) as writer, open_database(path, busy_timeout_s=0.0) as reader:
        committed = WatchStore(writer).begin_run(["first.nm4"], {}, 1.0)
        with writer.begin() as connection:
            connection.execute(sa.insert(ingest_runs), {"started": 2.0, "inputs": ["second.nm4"], "options": {}})
            assert [run.id for run in WatchStore(reader).runs()] == [committed]
        assert len(WatchStore(reader).runs()) == 2


def test_a_transaction_that_raises_leaves_nothing_behind(database: Database) -> None:
    store = WatchStore(database)

    def write_then_fail() -> None:
        with database.begin() as connection:
            connection.execute(sa.insert(ingest_runs), {"started": 1.0, "inputs": ["x.nm4"], "options": {}})
            raise RuntimeError("operator pulled the plug")

    with pytest.raises(RuntimeError, match="operator pulled the plug"):
        write_then_fail()
    assert store.runs() == []


def test_a_finished_run_is_read_back_from_a_reopened_file(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    stats = IngestStats(read=10, accepted=9, observations=8, bytes_read=800)
    stats.reject("bad_checksum")
    with open_database(path) as db:
        store = WatchStore(db)
        run_id = store.begin_run(["a.nm4"], {"rulebook": "default"}, 1.0)
        store.finish_run(run_id, stats, 2.0)
    with open_database(path, create=False) as db:
        (run,) = WatchStore(db).runs()
    assert (run.id, run.finished, run.stats) == (run_id, 2.0, stats)


def test_unknown_sqlite_settings_are_refused_before_anything_is_opened(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^synchronous must be 'NORMAL' or 'FULL', not 'OFF'$"):
        open_database(tmp_path / "riskline.db", synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^busy_timeout_s must be zero or more seconds, not -1$"):
        open_database(tmp_path / "riskline.db", busy_timeout_s=-1)
    assert list(tmp_path.iterdir()) == []


def test_a_server_url_that_cannot_be_opened_is_unavailable_and_its_password_stays_hidden() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database("postgresql+psycopg://riskline:secret@127.0.0.1:1/riskline")
    message = str(caught.value)
    assert message.startswith("postgresql+psycopg://riskline:***@127.0.0.1:1/riskline: ")
    assert "secret" not in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://riskline:secret@db:five/riskline", "postgresql://riskline:***@db:five/riskline: "),
        ("sqlite+one+two:///riskline.db", "sqlite+one+two:///riskline.db: "),
    ],
)
def test_a_malformed_url_is_a_storage_error_that_hides_the_password(url: str, message: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_database(url)
    assert str(caught.value) == message + "not a database URL or path"
