"""Migrations: a fresh file goes to the newest revision, the chain starts at 0001_watch, upgrades are
idempotent and build exactly the declared tables, and a database from a newer riskline is left alone."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from riskline.storage import Database, SchemaTooNew, WatchStore, head_revision, known_revisions, open_database
from riskline.storage.engine import alembic_config, user_tables
from riskline.storage.schema import declared_metadata

WATCH_TABLES = ["incidents", "ingest_runs", "platforms"]
WATCH_INDEXES = ["ix_incidents_a_b", "ix_incidents_rule", "ix_incidents_run_id", "ix_incidents_start_time"]


def tables(db: Database) -> list[str]:
    with db.read() as connection:
        return sorted(name for name in user_tables(connection) if name != "alembic_version")


def test_the_chain_of_revisions_starts_with_the_watch_and_is_one_line() -> None:
    revisions = known_revisions()
    assert revisions[0] == "0001_watch"
    assert revisions[-1] == head_revision()
    assert len(set(revisions)) == len(revisions)


def test_a_fresh_database_goes_to_the_newest_revision(database: Database) -> None:
    assert database.revision() == head_revision()
    assert set(WATCH_TABLES) <= set(tables(database))


def test_a_database_can_be_taken_to_0001_watch_and_reports_it(tmp_path: Path) -> None:
    with open_database(tmp_path / "riskline.db", upgrade=False) as db:
        assert db.revision() is None
        assert tables(db) == []
        db.upgrade("0001_watch")
        assert db.revision() == "0001_watch"
        assert tables(db) == WATCH_TABLES
        with db.read() as connection:
            indexes = sorted(index["name"] or "" for index in sa.inspect(connection).get_indexes("incidents"))
        assert indexes == WATCH_INDEXES


def test_an_older_database_is_upgraded_on_open_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    with open_database(path, upgrade=False) as db:
        db.upgrade("0001_watch")
        run_id = WatchStore(db).begin_run(["old.nm4"], {"rulebook": "default"}, 1_600_000_000.0)
    with open_database(path) as db:
        assert db.revision() == head_revision()
        assert [(run.id, run.inputs) for run in WatchStore(db).runs()] == [(run_id, ("old.nm4",))]


def test_upgrading_twice_changes_nothing(database: Database) -> None:
    run_id = WatchStore(database).begin_run(["a.nm4"], {}, 1.0)
    database.upgrade()
    database.upgrade()
    assert database.revision() == head_revision()
    assert [run.id for run in WatchStore(database).runs()] == [run_id]


def test_the_migrated_database_matches_the_declared_tables_exactly(database: Database) -> None:
    with database.read() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, declared_metadata())
    if database.dialect == "postgresql":  # what only PostgreSQL has: PostGIS's own table, geometry and its indexes
        postgis_only = [difference for difference in differences if _postgis_only(difference)]
        assert sorted(_describe(difference) for difference in postgis_only) == [
            "remove_column incidents.geom",
            "remove_column track_positions.geom",
            "remove_index ix_incidents_geom",
            "remove_index ix_track_positions_geom",
            "remove_table spatial_ref_sys",
        ]
        differences = [difference for difference in differences if not _postgis_only(difference)]
    assert differences == []


def _describe(difference: tuple[Any, ...]) -> str:
    kind = difference[0]
    if kind == "remove_column":
        return f"{kind} {difference[2]}.{difference[3].name}"
    return f"{kind} {difference[1].name}"


def _postgis_only(difference: object) -> bool:
    if not isinstance(difference, tuple):
        return False
    name = _describe(difference)
    return name.endswith(".geom") or name.endswith("_geom") or name == "remove_table spatial_ref_sys"


def test_downgrading_to_nothing_and_back_rebuilds_every_table(database: Database) -> None:
    built = tables(database)
    with database.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert database.revision() is None
    assert tables(database) == []
    database.upgrade()
    assert tables(database) == built


def test_a_database_from_a_newer_riskline_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    with open_database(path) as db, db.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    with pytest.raises(SchemaTooNew) as caught:
        open_database(path)
    assert str(caught.value) == (
        f"{path}: database schema '0099_future' is newer than this riskline "
        f"(which knows up to '{head_revision()}'); upgrade riskline to open it"
    )
    assert caught.value.http_status == 500
    with pytest.raises(SchemaTooNew):
        open_database(path, upgrade=False)
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0099_future"
    engine.dispose()


def test_three_openers_of_one_fresh_file_at_once_all_end_at_the_newest_revision(tmp_path: Path) -> None:
    path = tmp_path / "riskline.db"
    revisions: list[str | None] = []
    failures: list[BaseException] = []

    def open_and_report() -> None:
        try:
            with open_database(path) as db:
                revisions.append(db.revision())
        except BaseException as error:  # handed to the main thread, which fails the test with it
            failures.append(error)

    workers = [threading.Thread(target=open_and_report) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == []
    assert revisions == [head_revision()] * 3
