"""The track table: late and repeated reports, expiry, exact snapshots, history — and a real day's traffic."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.attribution import Attributor
from riskline.tracks.identity import CIVIL, PlatformIdentity
from riskline.tracks.snapshot import Snapshot
from riskline.tracks.table import TableStats, TrackTable, UpdateResult

NmeaLoader = Callable[[Path], list[Observation]]
GEOD = Geod(ellps="WGS84")

SHIP = PlatformIdentity("mmsi:273148200", "RU", Domain.SEA, Kind.MILITARY)
JET = PlatformIdentity("icao:3c6444", CIVIL, Domain.AIR, Kind.CIVIL)
RADAR = PlatformIdentity("id:T042", "EE", Domain.AIR, Kind.MILITARY)


def _report(identity: PlatformIdentity, t: float, lat: float = 59.5, lon: float = 24.5,
            **fields: object) -> Observation:
    return Observation(t=t, platform_id=identity.platform_id, source="table", lat=lat, lon=lon,
                       **fields)  # type: ignore[arg-type]


def _feed(table: TrackTable, *reports: tuple[Observation, PlatformIdentity]) -> list[UpdateResult]:
    return [table.update(report, identity) for report, identity in reports]


def test_a_snapshot_is_exact_and_ordered_by_platform_id() -> None:
    table = TrackTable()
    _feed(table,
          (_report(SHIP, 100.0, 59.4, 24.6, sog_mps=5.0, cog_deg=90.0), SHIP),
          (_report(RADAR, 110.0, 59.6, 24.2, alt_m=3000.0, sog_mps=100.0, cog_deg=180.0, vrate_mps=-5.0,
                   transponder=False), RADAR),
          (_report(JET, 105.0, 59.3, 24.9, alt_m=10000.0, sog_mps=200.0, cog_deg=0.0, vrate_mps=2.0), JET))
    snapshot = table.snapshot(120.0)
    assert snapshot.ids == ("icao:3c6444", "id:T042", "mmsi:273148200")
    assert snapshot.party_names == ("EE", "RU", "civil")
    assert snapshot.party.tolist() == [2, 0, 1]
    assert snapshot.is_air.tolist() == [True, True, False]
    assert snapshot.is_military.tolist() == [False, True, True]
    assert snapshot.transponder.tolist() == [True, False, True]
    assert snapshot.lat.tolist() == [59.3, 59.6, 59.4]
    assert snapshot.lon.tolist() == [24.9, 24.2, 24.6]
    assert snapshot.alt.tolist() == [10000.0, 3000.0, 0.0]
    assert snapshot.v_east == pytest.approx([0.0, 100.0 * math.sin(math.pi), 5.0], abs=1e-12)
    assert snapshot.v_north == pytest.approx([200.0, -100.0, 5.0 * math.cos(math.pi / 2)], abs=1e-12)
    assert snapshot.v_up.tolist() == [2.0, -5.0, 0.0]
    assert snapshot.t_fix.tolist() == [105.0, 110.0, 100.0]
    dtypes = [str(array.dtype) for array in (snapshot.party, snapshot.lat, snapshot.is_air)]
    assert dtypes == ["int64", "float64", "bool"]
    assert not snapshot.lat.flags.writeable


def test_a_snapshot_keeps_only_fresh_fixes_at_or_before_its_time() -> None:
    table = TrackTable(max_age_air_s=60.0, max_age_sea_s=600.0)
    _feed(table, (_report(SHIP, 0.0), SHIP), (_report(JET, 0.0, alt_m=9000.0), JET),
          (_report(RADAR, 700.0, alt_m=900.0), RADAR))
    assert table.snapshot(60.0).ids == ("icao:3c6444", "mmsi:273148200")
    assert table.snapshot(60.5).ids == ("mmsi:273148200",)
    assert table.snapshot(600.0).ids == ("mmsi:273148200",)
    assert table.snapshot(700.0).ids == ("id:T042",)
    assert len(table.snapshot(-1.0)) == 0
    assert len(table) == 3


def test_an_empty_table_gives_an_empty_snapshot() -> None:
    snapshot = TrackTable().snapshot(0.0)
    assert (snapshot.ids, snapshot.party_names, snapshot.lat.shape) == ((), (), (0,))
    assert str(snapshot.party.dtype) == "int64"


def test_a_late_report_goes_into_the_history_but_never_moves_the_state_back() -> None:
    table = TrackTable()
    results = _feed(table, (_report(SHIP, 10.0, 59.0, sog_mps=0.0), SHIP),
                    (_report(SHIP, 30.0, 59.2, sog_mps=0.0), SHIP), (_report(SHIP, 20.0, 59.1, sog_mps=0.0), SHIP))
    assert results == [UpdateResult.ACCEPTED, UpdateResult.ACCEPTED, UpdateResult.OUT_OF_ORDER]
    snapshot = table.snapshot(30.0)
    assert (snapshot.lat.tolist(), snapshot.t_fix.tolist()) == ([59.2], [30.0])
    assert table.segment(SHIP.platform_id, 0.0, 100.0).lat == (59.0, 59.1, 59.2)
    assert table.stats == TableStats(accepted=2, out_of_order=1, out_of_order_in_history=1)


def test_a_report_older_than_the_history_window_is_counted_and_dropped() -> None:
    table = TrackTable(history_s=100.0)
    results = _feed(table, (_report(SHIP, 1000.0), SHIP), (_report(SHIP, 899.0), SHIP), (_report(SHIP, 900.0), SHIP))
    assert results == [UpdateResult.ACCEPTED, UpdateResult.OUT_OF_ORDER, UpdateResult.OUT_OF_ORDER]
    assert table.segment(SHIP.platform_id, 0.0, 2000.0).t == (900.0, 1000.0)
    assert (table.stats.out_of_order, table.stats.out_of_order_in_history) == (2, 1)


def test_a_second_report_at_the_same_time_is_a_counted_duplicate_even_when_late() -> None:
    table = TrackTable()
    results = _feed(table, (_report(SHIP, 10.0, 59.0), SHIP), (_report(SHIP, 20.0, 59.1), SHIP),
                    (_report(SHIP, 20.0, 50.0), SHIP), (_report(SHIP, 10.0, 50.0), SHIP))
    assert results == [UpdateResult.ACCEPTED, UpdateResult.ACCEPTED, UpdateResult.DUPLICATE, UpdateResult.DUPLICATE]
    assert table.snapshot(20.0).lat.tolist() == [59.1]
    assert table.segment(SHIP.platform_id, 0.0, 30.0).lat == (59.0, 59.1)
    assert table.stats.duplicates == 2


def test_reports_without_a_usable_position_update_only_the_identity() -> None:
    table = TrackTable()
    named = dataclasses.replace(SHIP, name="95SC1203")
    static = Observation(t=5.0, platform_id=SHIP.platform_id, source="nmea", ship_type=35)
    assert table.update(static, named) is UpdateResult.NO_POSITION
    assert table.update(_report(SHIP, 6.0, lat=91.0), SHIP) is UpdateResult.INVALID
    assert table.update(_report(SHIP, math.nan), SHIP) is UpdateResult.INVALID
    assert table.identity(SHIP.platform_id) == SHIP
    assert [identity.platform_id for identity in table.identities()] == [SHIP.platform_id]
    assert (len(table), len(table.snapshot(6.0))) == (0, 0)
    assert (table.stats.no_position, table.stats.invalid) == (1, 2)


def test_an_identity_for_another_platform_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"^update: identity is for icao:3c6444, the report for mmsi:273148200$"):
        TrackTable().update(_report(SHIP, 0.0), JET)


@pytest.mark.parametrize("name", ["max_age_air_s", "max_age_sea_s", "history_s"])
def test_ages_must_be_positive_seconds(name: str) -> None:
    with pytest.raises(ValueError, match=rf"^TrackTable: {name} must be a positive number of seconds, got 0$"):
        TrackTable(**{name: 0})


def test_expire_drops_aircraft_after_a_minute_and_ships_after_ten_and_names_them() -> None:
    table = TrackTable()
    _feed(table, (_report(SHIP, 0.0), SHIP), (_report(JET, 0.0, alt_m=9000.0), JET),
          (Observation(t=0.0, platform_id=RADAR.platform_id, source="table"), RADAR))
    assert table.expire(60.0) == []
    assert table.expire(60.5) == ["icao:3c6444", "id:T042"]
    assert (len(table), table.identity("icao:3c6444"), "icao:3c6444" in table) == (1, None, False)
    assert table.segment("icao:3c6444", 0.0, 100.0).t == ()
    assert table.expire(600.5) == ["mmsi:273148200"]
    assert (len(table), list(table.identities()), table.stats.expired) == (0, [], 3)


def test_slots_freed_by_expiry_are_reused_and_the_table_grows_past_its_first_capacity() -> None:
    table = TrackTable()
    identities = [PlatformIdentity(f"icao:{n:06x}", CIVIL, Domain.AIR, Kind.CIVIL) for n in range(1, 3001)]
    for n, identity in enumerate(identities):
        table.update(_report(identity, float(n % 100), 50.0 + n / 1000.0, alt_m=1000.0), identity)
    assert len(table) == 3000
    assert len(table.expire(160.0)) == 3000
    for n, identity in enumerate(identities[:10]):
        table.update(_report(identity, 200.0, 40.0 + n, alt_m=1000.0), identity)
    snapshot = table.snapshot(200.0)
    assert snapshot.ids == tuple(identity.platform_id for identity in identities[:10])
    assert snapshot.lat.tolist() == [40.0 + n for n in range(10)]


def test_velocity_derived_from_successive_real_positions_matches_pyproj_within_half_a_percent(
        quickstart_observations: list[Observation]) -> None:
    fixes = [report for report in quickstart_observations if report.platform_id == "icao:0101de"][:400:40]
    assert len(fixes) == 10
    identity = PlatformIdentity("icao:0101de", CIVIL, Domain.AIR, Kind.CIVIL)
    table = TrackTable()
    table.update(dataclasses.replace(fixes[0], sog_mps=None, cog_deg=None), identity)
    for earlier, later in itertools.pairwise(fixes):
        assert table.update(dataclasses.replace(later, sog_mps=None, cog_deg=None), identity) is UpdateResult.ACCEPTED
        snapshot = table.snapshot(later.t)
        azimuth, _, distance = GEOD.inv(earlier.lon, earlier.lat, later.lon, later.lat)
        speed = distance / (later.t - earlier.t)
        expected = np.array([speed * math.sin(math.radians(azimuth)), speed * math.cos(math.radians(azimuth))])
        derived = np.array([snapshot.v_east[0], snapshot.v_north[0]])
        assert np.linalg.norm(derived - expected) <= 0.005 * speed


def test_a_fix_too_soon_after_the_last_keeps_the_last_known_velocity() -> None:
    table = TrackTable()
    _feed(table, (_report(JET, 0.0, 59.0, alt_m=1000.0, sog_mps=100.0, cog_deg=90.0, vrate_mps=3.0), JET),
          (_report(JET, 0.5, 59.0, 24.501, alt_m=1001.0), JET))
    snapshot = table.snapshot(0.5)
    assert (snapshot.v_east[0], snapshot.v_north[0], snapshot.v_up[0]) == pytest.approx((100.0, 0.0, 3.0))


def test_a_segment_holds_the_fixes_between_its_bounds_within_the_history_window() -> None:
    table = TrackTable(history_s=100.0)
    for t in range(0, 301, 10):
        table.update(_report(JET, float(t), 59.0 + t / 1000.0, alt_m=1000.0 + t), JET)
    segment = table.segment(JET.platform_id, 0.0, 1000.0)
    assert segment.t == tuple(float(t) for t in range(200, 301, 10))
    inner = table.segment(JET.platform_id, 250.0, 270.0)
    assert (inner.t, inner.alt) == ((250.0, 260.0, 270.0), (1250.0, 1260.0, 1270.0))
    assert table.segment(SHIP.platform_id, 0.0, 10.0).t == ()
    with pytest.raises(ValueError, match=r"^segment: t0 \(20.0\) is after t1 \(10.0\)$"):
        table.segment(JET.platform_id, 20.0, 10.0)


def test_a_ships_segment_is_at_sea_level() -> None:
    table = TrackTable()
    _feed(table, (_report(SHIP, 0.0), SHIP), (_report(SHIP, 10.0), SHIP))
    assert table.segment(SHIP.platform_id, 0.0, 10.0).alt == (0.0, 0.0)


_IDENTITIES = [SHIP, JET, RADAR]


@st.composite
def _report_sets(draw: st.DrawFn) -> list[tuple[Observation, PlatformIdentity]]:
    reports = []
    for identity in _IDENTITIES:
        times = draw(st.sets(st.integers(0, 600), min_size=0, max_size=12))
        for t in times:
            with_velocity = draw(st.booleans())
            reports.append((Observation(
                t=t / 2.0, platform_id=identity.platform_id, source="table",
                lat=draw(st.floats(59.0, 60.0)), lon=draw(st.floats(24.0, 25.0)),
                alt_m=draw(st.none() | st.floats(0.0, 12000.0)) if identity.domain is Domain.AIR else None,
                sog_mps=draw(st.floats(0.0, 300.0)) if with_velocity else None,
                cog_deg=draw(st.floats(0.0, 359.9)) if with_velocity else None,
                vrate_mps=draw(st.none() | st.floats(-50.0, 50.0)) if identity.domain is Domain.AIR else None,
                transponder=draw(st.booleans()),
            ), identity))
    return reports


def _final_snapshot(reports: list[tuple[Observation, PlatformIdentity]]) -> Snapshot:
    table = TrackTable(max_age_air_s=1e6, max_age_sea_s=1e6, history_s=1e6)
    for report, identity in reports:
        table.update(report, identity)
    return table.snapshot(1000.0)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), reports=_report_sets())
def test_the_same_reports_in_any_order_give_the_same_snapshot(
        data: st.DataObject, reports: list[tuple[Observation, PlatformIdentity]]) -> None:
    shuffled = data.draw(st.permutations(reports))
    expected, actual = _final_snapshot(reports), _final_snapshot(shuffled)
    assert (actual.ids, actual.party_names) == (expected.ids, expected.party_names)
    for field in ("party", "is_air", "is_military", "transponder", "lat", "lon", "alt", "v_east", "v_north",
                  "v_up", "t_fix"):
        np.testing.assert_array_equal(getattr(actual, field), getattr(expected, field), err_msg=field)


# --- a real afternoon over Paris ---

SAMPLE_END = 1_633_618_799.0  # [s] 2021-10-07 14:59:59 UTC, the sample's last report


def _seconds(record: dict[str, object]) -> float:
    timestamp = record["timestamp"]
    assert isinstance(timestamp, int)
    return timestamp / 1000.0


@pytest.fixture(scope="module")
def paris_table(quickstart_observations: list[Observation]) -> TrackTable:
    attributor, table = Attributor(None), TrackTable()
    for report in quickstart_observations:
        table.update(report, attributor.identify(report, table.identity(report.platform_id)))
    return table


def test_the_paris_traffic_sample_gives_its_213_aircraft(paris_table: TrackTable,
                                                        quickstart_records: list[dict[str, object]]) -> None:
    assert len({record["icao24"] for record in quickstart_records}) == 213
    assert len(list(paris_table.identities())) == 213
    assert len(paris_table) == 213
    assert paris_table.stats == TableStats(accepted=284_505)


def test_a_snapshot_over_paris_holds_exactly_the_aircraft_heard_in_the_last_minute(
        paris_table: TrackTable, quickstart_records: list[dict[str, object]]) -> None:
    last: dict[str, dict[str, object]] = {}
    for record in quickstart_records:
        last[f"icao:{record['icao24']}"] = record
    seconds = {pid: _seconds(record) for pid, record in last.items()}
    t = max(seconds.values())
    assert t == SAMPLE_END
    fresh = sorted(pid for pid, t_last in seconds.items() if t - t_last <= 60.0)
    snapshot = paris_table.snapshot(t)
    assert list(snapshot.ids) == fresh
    assert len(fresh) == 8
    assert snapshot.lat.tolist() == [last[pid]["latitude"] for pid in fresh]
    assert snapshot.lon.tolist() == [last[pid]["longitude"] for pid in fresh]
    assert snapshot.t_fix.tolist() == [seconds[pid] for pid in fresh]
    assert snapshot.is_air.all()


def test_after_the_sample_ends_every_aircraft_expires_once(paris_table: TrackTable) -> None:
    table = copy.deepcopy(paris_table)
    silent_for_a_minute = table.expire(SAMPLE_END)
    heard_in_the_last_minute = table.expire(SAMPLE_END + 60.5)
    assert (len(silent_for_a_minute), len(heard_in_the_last_minute)) == (205, 8)
    assert heard_in_the_last_minute == list(paris_table.snapshot(SAMPLE_END).ids)
    assert silent_for_a_minute == sorted(silent_for_a_minute)
    assert (len(table), list(table.identities()), table.stats.expired) == (0, [], 213)
    assert len(paris_table) == 213
