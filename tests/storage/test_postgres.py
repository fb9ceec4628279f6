"""PostgreSQL as the server store: what SQLite never showed (two writers at once, a long reader beside a writer),
URLs as operators type them, an unreachable server, and an old schema upgraded in place."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import sqlalchemy as sa

from riskline.incidents.model import Encounter
from riskline.storage import DatabaseUnreadable, WatchStore, head_revision, open_database
from riskline.storage.engine import alembic_config
from riskline.storage.schema import incidents, ingest_runs
from riskline.testing.postgres import PostgresCluster

WRITES_PER_WRITER = 25


def test_a_url_without_a_driver_opens_with_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with open_database(plain) as database:
        assert database.dialect == "postgresql"
        assert database.engine.url.drivername == "postgresql+psycopg"
        assert database.revision() == head_revision()


def test_two_writers_that_read_then_write_never_lose_an_update(postgres_url: str) -> None:
    """Each writer counts the runs and inserts one numbered by that count, as the node appends to its Merkle
    log; writers queue as on SQLite, so the numbers come out 0 … N-1, none twice."""
    databases = [open_database(postgres_url) for _ in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(database_index: int) -> None:
        database = databases[database_index]
        try:
            start.wait()
            for _ in range(WRITES_PER_WRITER):
                with database.begin() as connection:
                    count = connection.execute(sa.select(sa.func.count()).select_from(ingest_runs)).scalar_one()
                    connection.execute(
                        sa.insert(ingest_runs),
                        {"started": 0.0, "inputs": [str(count)], "options": {"writer": database_index}},
                    )
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=write, args=(index,)) for index in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    with databases[0].read() as connection:
        rows = connection.execute(sa.select(ingest_runs.c.inputs, ingest_runs.c.options)).all()
    assert sorted(int(inputs[0]) for inputs, _ in rows) == list(range(2 * WRITES_PER_WRITER))
    assert sorted(options["writer"] for _, options in rows) == [0] * WRITES_PER_WRITER + [1] * WRITES_PER_WRITER
    for database in databases:
        database.close()


def test_two_writers_storing_encounters_get_distinct_ids_in_their_own_order(
    postgres_url: str, real_encounter: Encounter
) -> None:
    stores = [WatchStore(open_database(postgres_url)) for _ in range(2)]
    run_id = stores[0].begin_run(["two writers"], {}, 0.0)
    ids: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def write(index: int) -> None:
        start.wait()
        for n in range(WRITES_PER_WRITER):
            batch = [replace(real_encounter, a=f"icao:{index}{n}{k}") for k in range(3)]
            ids[index] += stores[index].save_encounters(run_id, batch)

    writers = [threading.Thread(target=write, args=(index,)) for index in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    everything = ids[0] + ids[1]
    assert len(everything) == len(set(everything)) == 2 * 3 * WRITES_PER_WRITER
    for index in range(2):
        stored = [stores[index].get_incident(incident_id).encounter.a for incident_id in ids[index]]
        assert stored == [f"icao:{index}{n}{k}" for n in range(WRITES_PER_WRITER) for k in range(3)]


def test_a_long_reader_keeps_its_snapshot_while_a_writer_commits_beside_it(
    postgres_url: str, real_encounter: Encounter
) -> None:
    reader_db, writer_db = open_database(postgres_url), open_database(postgres_url)
    writer = WatchStore(writer_db)
    run_id = writer.begin_run(["long reader"], {}, 0.0)
    writer.save_encounters(run_id, [real_encounter] * 2)
    committed = threading.Event()

    def write_more() -> None:
        writer.save_encounters(run_id, [real_encounter] * 3)
        committed.set()

    count = sa.select(sa.func.count()).select_from(incidents)
    with reader_db.read() as connection:
        before = connection.execute(count).scalar_one()
        thread = threading.Thread(target=write_more)
        thread.start()
        assert committed.wait(timeout=60), "the writer was blocked by an open reader"
        during = connection.execute(count).scalar_one()
        rows = connection.execute(sa.select(incidents.c.id)).all()
    thread.join()
    with reader_db.read() as connection:
        after = connection.execute(count).scalar_one()
    assert (before, during, len(rows), after) == (2, 2, 2, 5)
    reader_db.close()
    writer_db.close()


def test_an_unreachable_server_is_a_one_line_error_naming_it_without_its_password() -> None:
    url = "postgresql://ops:secret@/riskline?host=/nonexistent-riskline-socket"
    with pytest.raises(DatabaseUnreadable) as caught:
        open_database(url)
    message = str(caught.value)
    assert message.startswith("postgresql+psycopg://ops:***@/riskline?host=/nonexistent-riskline-socket: ")
    assert "secret" not in message
    assert "\n" not in message
    assert caught.value.http_status == 503


def test_a_schema_older_than_the_code_is_upgraded_in_place_keeping_its_rows(
    postgres_cluster: PostgresCluster, real_encounter: Encounter
) -> None:
    url = postgres_cluster.create_database()
    with open_database(url, upgrade=False) as database, database.begin() as connection:
        from alembic import command

        command.upgrade(alembic_config(connection), "0001_watch")
    with open_database(url, upgrade=False) as database:
        assert database.revision() == "0001_watch"
        with database.begin() as connection:
            run_id = connection.execute(
                sa.insert(ingest_runs).returning(ingest_runs.c.id), {"started": 1.0, "inputs": [], "options": {}}
            ).scalar_one()
    with open_database(url) as database:
        assert database.revision() == head_revision()
        store = WatchStore(database)
        [incident_id] = store.save_encounters(run_id, [real_encounter])
        assert store.get_incident(incident_id).encounter == real_encounter


def test_postgresql_without_postgis_is_refused_with_the_reason_and_left_as_it_was(
    postgres_cluster: PostgresCluster,
) -> None:
    url = postgres_cluster.create_database(postgis=False)
    import psycopg

    name = url.split("/")[3].split("?")[0]
    with psycopg.connect(host=str(postgres_cluster.socket_dir), user="riskline", dbname=name, autocommit=True) as conn:
        conn.execute("CREATE ROLE plain LOGIN")
        conn.execute("GRANT ALL ON SCHEMA public TO plain")
    plain = url.replace("//riskline@", "//plain@")
    from riskline.storage import PostgisMissing

    with pytest.raises(PostgisMissing) as caught:
        open_database(plain)
    assert str(caught.value) == (
        f"{plain}: PostGIS is not enabled in this database and riskline may not enable it: "
        "as a superuser run CREATE EXTENSION postgis; then retry"
    )
    with open_database(url, upgrade=False) as database:
        assert database.revision() is None
