"""The watch's records: encounters come back exactly, identities upsert, lists filter, misses are 404s."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskline.incidents.model import Encounter, Evidence
from riskline.ingest.observation import Domain, Kind
from riskline.ingest.stats import IngestStats
from riskline.storage import (
    Database,
    IncidentNotFound,
    PlatformNotFound,
    RunNotFound,
    SeenSpan,
    StoredPlatform,
    UnstorableValue,
    WatchStore,
    open_database,
)
from riskline.storage.watch_store import encounter_from_row, encounter_to_row
from riskline.testing.clock import FakeClock
from riskline.tracks.identity import PlatformIdentity
from riskline.tracks.segment import TrackSegment

PAIR = "encounter air_proximity icao:ae0455/icao:3b7777"  # how errors name the real encounter
T0 = 1_600_120_071.0  # [s] 14 Sep 2020, the first fix of PSWRD35 in the real sample

finite = st.floats(allow_nan=False, allow_infinity=False)
names = st.text(max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | finite | names,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def segments(draw: st.DrawFn) -> TrackSegment:
    n = draw(st.integers(min_value=0, max_value=5))
    column = st.lists(finite, min_size=n, max_size=n).map(tuple)
    return TrackSegment(draw(names), draw(column), draw(column), draw(column), draw(column))


@st.composite
def evidences(draw: st.DrawFn) -> Evidence:
    n = draw(st.integers(min_value=0, max_value=5))
    column = st.lists(finite, min_size=n, max_size=n).map(tuple)
    return Evidence(draw(segments()), draw(st.none() | segments()), draw(column), draw(column))


encounters = st.builds(
    Encounter,
    rule=names,
    severity=names,
    a=names,
    b=names,
    party_a=names,
    party_b=names,
    occurred=st.booleans(),
    start=finite,
    end=finite,
    t_cpa=finite,
    min_distance_m=finite,
    min_horizontal_m=finite,
    min_vertical_m=st.none() | finite,
    first_alert=st.none() | finite,
    lat=finite,
    lon=finite,
    details=st.dictionaries(names, json_values, max_size=4),
    evidence=st.none() | evidences(),
)


@pytest.fixture(scope="module")
def shared_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = open_database(tmp_path_factory.mktemp("storage") / "riskline.db")
    yield db
    db.close()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(encounters, max_size=4))
def test_any_batch_of_encounters_comes_back_exactly_and_in_order(
    shared_database: Database, batch: list[Encounter]
) -> None:
    store = WatchStore(shared_database, clock=FakeClock(T0))
    run_id = store.begin_run(["hypothesis"], {}, T0)
    ids = store.save_encounters(run_id, batch)
    stored = [store.get_incident(incident_id) for incident_id in ids]
    assert [item.encounter for item in stored] == batch
    assert {(item.run_id, item.created) for item in stored} <= {(run_id, T0)}
    assert sorted(ids) == ids
    assert len(set(ids)) == len(batch)


@given(encounter=encounters)
def test_the_row_conversion_alone_is_exact(encounter: Encounter) -> None:
    assert encounter_from_row(encounter_to_row(encounter)) == encounter


def test_a_real_encounter_keeps_every_fix_of_its_evidence(database: Database, real_encounter: Encounter) -> None:
    store = WatchStore(database, clock=FakeClock(T0 + 3600.0))
    run_id = store.begin_run(["aircraft_carrier.json.gz", "inflight_refuelling.json.gz"], {}, T0)
    (incident_id,) = store.save_encounters(run_id, [real_encounter])
    stored = store.get_incident(incident_id)
    assert (stored.id, stored.run_id, stored.created) == (incident_id, run_id, T0 + 3600.0)
    assert stored.encounter == real_encounter
    evidence = stored.encounter.evidence
    assert evidence is not None
    assert evidence.segment_b is not None
    assert (len(evidence.segment_a), len(evidence.segment_b)) == (120, 120)
    assert (evidence.segment_a.platform_id, evidence.segment_b.platform_id) == ("icao:ae0455", "icao:3b7777")
    assert stored.encounter.lead_time_s == 30.0


def test_a_missing_incident_is_a_404_that_names_it(database: Database) -> None:
    with pytest.raises(IncidentNotFound) as caught:
        WatchStore(database).get_incident(4242)
    assert str(caught.value) == "no incident 4242"
    assert caught.value.http_status == 404
    assert isinstance(caught.value, LookupError)


def test_encounters_for_a_run_that_does_not_exist_are_refused(database: Database, real_encounter: Encounter) -> None:
    store = WatchStore(database)
    with pytest.raises(RunNotFound) as caught:
        store.save_encounters(7, [real_encounter])
    assert str(caught.value) == "no ingest run 7"
    assert store.list_incidents() == []


def test_a_batch_with_one_unstorable_encounter_stores_none_of_it(database: Database, real_encounter: Encounter) -> None:
    store = WatchStore(database)
    run_id = store.begin_run(["a.nm4"], {}, T0)
    broken = replace(real_encounter, min_vertical_m=float("nan"))
    with pytest.raises(UnstorableValue) as caught:
        store.save_encounters(run_id, [real_encounter, broken])
    assert str(caught.value) == f"{PAIR}: min_vertical_m is nan, not a finite number"
    assert caught.value.http_status == 422
    assert store.list_incidents() == []


def test_an_infinite_fix_in_the_evidence_is_refused_with_its_place(real_encounter: Encounter) -> None:
    evidence = real_encounter.evidence
    assert evidence is not None
    segment = evidence.segment_a
    bad = TrackSegment(segment.platform_id, segment.t, segment.lat, segment.lon, (*segment.alt[:-1], float("inf")))
    broken = replace(real_encounter, evidence=Evidence(bad, None))
    with pytest.raises(UnstorableValue) as caught:
        encounter_to_row(broken)
    assert str(caught.value) == f"{PAIR}: segment_a.alt holds inf, not a finite number"


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"window": (0.0, 60.0)}, "details['window'] is a tuple, not plain JSON"),
        ({"passes": {1: "low"}}, "details['passes'] has the key 1, not a string"),
        ({"parties": {"RU", "EE"}}, "details['parties'] is a set, not plain JSON"),
    ],
)
def test_details_that_would_come_back_different_are_refused(
    real_encounter: Encounter, details: dict[str, object], message: str
) -> None:
    with pytest.raises(UnstorableValue, match=f"^{re.escape(PAIR)}: ") as caught:
        encounter_to_row(replace(real_encounter, details=details))
    assert message in str(caught.value)


def test_numpy_numbers_in_details_are_stored_as_the_numbers_they_equal(
    database: Database, real_encounter: Encounter
) -> None:
    store = WatchStore(database)
    run_id = store.begin_run(["a.nm4"], {}, T0)
    details: dict[str, object] = {"threshold_m": np.float64(914.4), "passes": np.int64(3), "night": np.bool_(True)}
    (incident_id,) = store.save_encounters(run_id, [replace(real_encounter, details=details)])
    back = store.get_incident(incident_id).encounter.details
    assert back == {"threshold_m": 914.4, "passes": 3, "night": True}
    assert [type(value) for value in back.values()] == [float, int, bool]


def test_incidents_are_listed_latest_first_and_filter_by_rule_and_run(
    database: Database, real_encounter: Encounter
) -> None:
    store = WatchStore(database)
    first_run = store.begin_run(["first.nm4"], {}, T0)
    second_run = store.begin_run(["second.nm4"], {}, T0 + 60.0)

    def at(start: float, rule: str) -> Encounter:
        return replace(real_encounter, start=start, rule=rule)

    early, late = store.save_encounters(first_run, [at(T0, "air_proximity"), at(T0 + 10.0, "air_intercept")])
    (latest,) = store.save_encounters(second_run, [at(T0 + 20.0, "air_proximity")])

    assert [item.id for item in store.list_incidents()] == [latest, late, early]
    assert [item.id for item in store.list_incidents(rule="air_proximity")] == [latest, early]
    assert [item.id for item in store.list_incidents(run_id=first_run)] == [late, early]
    assert [item.id for item in store.list_incidents(rule="air_proximity", run_id=first_run)] == [early]
    assert [item.id for item in store.list_incidents(limit=2)] == [latest, late]
    assert store.list_incidents(rule="low_pass") == []
    with pytest.raises(ValueError, match=r"^limit must be at least 1, not 0$"):
        store.list_incidents(limit=0)


def test_runs_record_inputs_options_stats_and_how_many_incidents_they_stored(
    database: Database, real_encounter: Encounter
) -> None:
    store = WatchStore(database)
    options: dict[str, object] = {"rulebook": {"name": "default"}, "overrides": ["air_proximity.horizontal_m=500"]}
    finished = store.begin_run(["a.nm4", "udp://0.0.0.0:10110"], options, T0)
    running = store.begin_run(["b.nm4"], {}, T0 + 1.0)
    store.save_encounters(finished, [real_encounter, real_encounter])
    stats = IngestStats(read=1000, accepted=990, observations=985, bytes_read=84630)
    stats.reject("bad_checksum", 7)
    stats.reject("incomplete_multipart", 3)
    store.finish_run(finished, stats, T0 + 5.0)

    first, second = store.runs()
    assert (first.id, first.started, first.finished, first.inputs) == (finished, T0, T0 + 5.0, ("a.nm4", "udp://0.0.0.0:10110"))
    assert (first.options, first.stats, first.incidents) == (options, stats, 2)
    assert (second.id, second.finished, second.stats, second.incidents) == (running, None, None, 0)


def test_finishing_a_run_that_does_not_exist_is_a_404(database: Database) -> None:
    with pytest.raises(RunNotFound, match=r"^no ingest run 99$"):
        WatchStore(database).finish_run(99, IngestStats(), T0)


def test_run_options_that_are_not_plain_json_are_refused(database: Database) -> None:
    store = WatchStore(database)
    with pytest.raises(UnstorableValue) as caught:
        store.begin_run(["a.nm4"], {"fleet": Path("fleet.toml")}, T0)
    assert str(caught.value) == (
        "run options['fleet'] is a PosixPath, not plain JSON (use dict, list, str, int, float, bool or None)"
    )
    assert store.runs() == []


SU27 = PlatformIdentity("icao:1512c4", "RU", Domain.AIR, Kind.MILITARY, "Su-27", None, "RFF1234", "RU", "fleet")


def test_identities_are_inserted_then_updated_keeping_names_already_known(database: Database) -> None:
    store = WatchStore(database)
    assert store.save_identities([SU27], T0) == 1
    renamed = PlatformIdentity("icao:1512c4", "RU", Domain.AIR, Kind.MILITARY, None, None, None, None, "icao_military")
    assert store.save_identities([renamed], T0 + 600.0) == 1
    kept = replace(SU27, source="icao_military")
    assert store.get_platform("icao:1512c4") == StoredPlatform(kept, T0, T0 + 600.0, T0 + 600.0)


def test_seen_spans_only_ever_widen(database: Database) -> None:
    store = WatchStore(database)
    store.save_identities([SU27], T0 + 100.0, seen={SU27.platform_id: SeenSpan(T0, T0 + 50.0)})
    store.save_identities([SU27], T0 + 200.0, seen={SU27.platform_id: SeenSpan(T0 + 10.0, T0 + 40.0)})
    stored = store.get_platform(SU27.platform_id)
    assert (stored.first_seen, stored.last_seen, stored.updated) == (T0, T0 + 50.0, T0 + 200.0)


def test_one_platform_twice_in_a_call_is_one_row_with_the_later_identity(database: Database) -> None:
    store = WatchStore(database)
    civil = PlatformIdentity("mmsi:273123456", "civil", Domain.SEA, Kind.CIVIL, source="default")
    navy = PlatformIdentity("mmsi:273123456", "RU", Domain.SEA, Kind.MILITARY, name="SMETLIVY", source="ais_type")
    spans = {civil.platform_id: SeenSpan(T0, T0 + 30.0)}
    assert store.save_identities([civil, navy], T0 + 60.0, seen=spans) == 1
    assert store.get_platform(civil.platform_id) == StoredPlatform(navy, T0, T0 + 30.0, T0 + 60.0)
    assert store.save_identities([], T0) == 0


def test_a_platform_never_seen_is_a_404(database: Database) -> None:
    with pytest.raises(PlatformNotFound) as caught:
        WatchStore(database).get_platform("mmsi:000000000")
    assert (str(caught.value), caught.value.http_status) == ("no platform 'mmsi:000000000'", 404)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(saves=st.lists(st.tuples(finite, finite, finite), min_size=1, max_size=5))
def test_first_and_last_seen_are_the_extremes_over_every_save(
    shared_database: Database, saves: list[tuple[float, float, float]]
) -> None:
    store = WatchStore(shared_database)
    platform_id = f"icao:{abs(hash(tuple(saves))) % 16**6:06x}-{len(saves)}"
    identity = PlatformIdentity(platform_id, "US", Domain.AIR, Kind.MILITARY)
    with shared_database.begin() as connection:  # the same id may come up again in another example
        connection.exec_driver_sql("DELETE FROM platforms WHERE platform_id = ?", (platform_id,))
    for first, last, t in saves:
        store.save_identities([identity], t, seen={platform_id: SeenSpan(first, last)})
    stored = store.get_platform(platform_id)
    assert stored.first_seen == min(first for first, _, _ in saves)
    assert stored.last_seen == max(last for _, last, _ in saves)
    assert stored.updated == saves[-1][2]
