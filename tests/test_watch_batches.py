"""The columnar path against the row path: same observations, same counts, same encounters, same figures."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.ingest.batch import ObservationBatch
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.scenarios.baltic import busy_baltic_hour, demo_scenario
from riskline.tracks import table as table_module
from riskline.tracks.attribution import Attributor
from riskline.tracks.fleet import Fleet
from riskline.tracks.identity import PlatformIdentity
from riskline.tracks.table import TrackTable
from riskline.watch import Watch


def _by_rows(path: Path, watch: Watch, options: ReaderOptions) -> tuple[list[Observation], IngestStats,
                                                                          list[Encounter]]:
    stats = IngestStats()
    observations = list(read_path(path, stats, options=options))
    encounters = [e for o in observations for e in watch.feed(o)] + watch.finish()
    return observations, stats, encounters


def _by_batches(path: Path, watch: Watch, options: ReaderOptions) -> tuple[list[Observation], IngestStats,
                                                                             list[Encounter]]:
    stats = IngestStats()
    batches = list(read_path_batches(path, stats, options=options))
    encounters = [e for batch in batches for e in watch.feed_batch(batch)] + watch.finish()
    return [o for batch in batches for o in batch.observations()], stats, encounters


def _same(path: Path, make_watch: type[Watch] | object, options: ReaderOptions | None = None) -> list[Encounter]:
    opts = options or ReaderOptions()
    rows_watch, batch_watch = make_watch(), make_watch()  # type: ignore[operator]
    expected = _by_rows(path, rows_watch, opts)
    got = _by_batches(path, batch_watch, opts)
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[2] == expected[2]
    assert batch_watch.status() == rows_watch.status()
    assert batch_watch.tracks.stats == rows_watch.tracks.stats
    return expected[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Path]:
    scenario = demo_scenario(tmp_path_factory.mktemp("demo"), shared_data=data_dir)
    return scenario.table_path, scenario.fleet_path


def test_the_demo_table_gives_the_same_encounters_column_wise(demo: tuple[Path, Path]) -> None:
    table, fleet = demo
    rulebook = load_rulebook()
    encounters = _same(table, lambda: Watch(rulebook, attributor=Attributor(Fleet.load(fleet))))
    assert [e for e in encounters if e.occurred]


def test_the_busy_hour_gives_the_same_encounters_column_wise(tmp_path: Path, data_dir: Path) -> None:
    busy = busy_baltic_hour(data_dir, tmp_path, ships=60, aircraft=20, seed=5)
    rulebook = load_rulebook()
    for path in (busy.table_path, busy.nmea_path, busy.sbs_path):
        _same(path, lambda: Watch(rulebook))


def _shared_files(data_dir: Path) -> list[Path]:
    return sorted(p for folder in ("ais", "traffic") for p in (data_dir / folder).iterdir() if p.is_file())


def test_every_shared_recording_gives_the_same_observations_and_figures(data_dir: Path) -> None:
    rulebook = load_rulebook()
    files = _shared_files(data_dir)
    assert len(files) >= 10
    for path in files:
        _same(path, lambda: Watch(rulebook), ReaderOptions(clock=lambda: 1_700_000_000.0))


def _spoil(lines: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    header, rows = lines[0], lines[1:]
    out = [header]
    for row in rows:
        roll = rng.random()
        cells = row.rstrip("\n").split(",")
        if roll < 0.02:
            cells[2] = "abc"  # lat not a number
        elif roll < 0.04:
            cells[2] = "95.0"  # impossible latitude
        elif roll < 0.05:
            cells[1] = " "  # blank id
        elif roll < 0.06:
            cells[3] = "nan"
        elif roll < 0.07:
            out.append(row)  # duplicated row
        elif roll < 0.08 and len(out) > 2:
            out.insert(len(out) - 2, row)  # out of order
            continue
        elif roll < 0.085:
            out.append("# a comment in the middle\n")
        elif roll < 0.09:
            out.append("\n")
        elif roll < 0.095:
            cells = cells[:3]  # a short row
        out.append(",".join(cells) + "\n")
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_a_dirty_table_is_rejected_alike_counted_by_the_same_reasons(demo: tuple[Path, Path], tmp_path: Path,
                                                                     seed: int) -> None:
    table, fleet = demo
    dirty = tmp_path / "dirty.csv"
    dirty.write_text("".join(_spoil(table.read_text(encoding="utf-8").splitlines(keepends=True), seed)))
    rulebook = load_rulebook()
    _same(dirty, lambda: Watch(rulebook, attributor=Attributor(Fleet.load(fleet))))
    stats = IngestStats()
    list(read_path_batches(dirty, stats))
    assert {"bad_field:lat", "bad_field:id", "bad_field:lon"} <= set(stats.rejected)


_TIMES = st.one_of(st.integers(min_value=0, max_value=30).map(float), st.just(math.nan))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["id:a", "id:b", "id:c"]), _TIMES, st.booleans(), st.booleans()),
        min_size=1,
        max_size=40,
    ),
    st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=8),
)
def test_the_track_table_takes_a_batch_as_it_takes_its_rows(
    reports: list[tuple[str, float, bool, bool]], cuts: list[int]
) -> None:
    observations = [
        Observation(
            1_700_000_000.0 + t,
            pid,
            "table",
            (55.0 + 0.001 * t) if located else None,
            (15.0 + 0.002 * t) if located else None,
            alt_m=1000.0 + t if located else None,
            sog_mps=100.0 if moving else None,
            cog_deg=45.0 if moving else None,
            domain=Domain.AIR,
        )
        for pid, t, located, moving in reports
    ]
    attributor = Attributor(None)
    identities: list[PlatformIdentity] = []
    known: dict[str, PlatformIdentity] = {}
    for o in observations:
        known[o.platform_id] = attributor.identify(o, known.get(o.platform_id))
        identities.append(known[o.platform_id])
    one_by_one, in_batches = TrackTable(), TrackTable()
    for o, identity in zip(observations, identities, strict=True):
        one_by_one.update(o, identity)
    small, table_module._SMALL_BATCH = table_module._SMALL_BATCH, 0  # every batch through the columnar code
    try:
        start = 0
        for size in cuts * 10:
            if start >= len(observations):
                break
            part = observations[start : start + size]
            in_batches.update_batch(ObservationBatch.from_observations(part), identities[start : start + size])
            start += size
        if start < len(observations):
            in_batches.update_batch(ObservationBatch.from_observations(observations[start:]), identities[start:])
    finally:
        table_module._SMALL_BATCH = small
    assert in_batches.stats == one_by_one.stats
    t = 1_700_000_030.0
    a, b = one_by_one.snapshot(t), in_batches.snapshot(t)
    for field in dataclasses.fields(a):
        left, right = getattr(a, field.name), getattr(b, field.name)
        if isinstance(left, np.ndarray):
            assert np.array_equal(left, right, equal_nan=True), field.name
        else:
            assert left == right, field.name
    for pid in ("id:a", "id:b", "id:c"):
        assert one_by_one.segment(pid, 0.0, 2e9) == in_batches.segment(pid, 0.0, 2e9)


# --- the whole watch, row path against batch path, on interleaved platforms, late and repeated times ---


def _state(watch: Watch) -> tuple[object, ...]:
    """Everything the watch shows: status, table counts, the last picture, identities and observed activity."""
    t = watch.status().t
    snapshot = watch.tracks.snapshot(t if t is not None else 0.0)
    arrays = tuple(
        getattr(snapshot, f.name).tolist() if isinstance(getattr(snapshot, f.name), np.ndarray)
        else getattr(snapshot, f.name)
        for f in dataclasses.fields(snapshot)
    )
    segments = tuple(watch.tracks.segment(pid, 0.0, 2e9) for pid in snapshot.ids)
    return (watch.status(), watch.tracks.stats, repr(arrays), segments, watch.identities(),
            watch.activity.activity().rows())


def _rows_and_batches(observations: list[Observation], cuts: list[int], make_watch: object,
                      ) -> tuple[tuple[object, ...], tuple[object, ...]]:
    rows_watch, batch_watch = make_watch(), make_watch()  # type: ignore[operator]
    expected = [e for o in observations for e in rows_watch.feed(o)] + rows_watch.finish()
    got: list[Encounter] = []
    start, k = 0, 0
    while start < len(observations):
        size = cuts[k % len(cuts)]
        got += batch_watch.feed_batch(ObservationBatch.from_observations(observations[start:start + size]))
        start, k = start + size, k + 1
    got += batch_watch.finish()
    return (expected, *_state(rows_watch)), (got, *_state(batch_watch))


_PLATFORMS = ("mmsi:273148200", "mmsi:230123000", "mmsi:111273100", "icao:3c6444", "icao:43c1e4", "id:T1",
              "id:T2")


@st.composite
def _interleaved(draw: st.DrawFn) -> list[Observation]:
    """Reports of a few platforms close together, identity fields changing, times late, repeated or missing."""
    t = 1_700_000_000.0
    reports: list[Observation] = []
    for _ in range(draw(st.integers(1, 70))):
        step = draw(st.sampled_from(["next", "next", "next", "same", "late", "jump", "nan"]))
        if step == "next":
            t += draw(st.sampled_from([0.25, 0.5, 1.0, 1.5, 3.0]))
        elif step == "jump":
            t += draw(st.sampled_from([20.0, 61.0, 400.0]))
        when = {"late": t - draw(st.sampled_from([0.5, 2.0, 9.0, 5000.0])), "nan": math.nan}.get(step, t)
        located = draw(st.integers(0, 9)) > 0
        reports.append(Observation(
            when,
            draw(st.sampled_from(_PLATFORMS)),
            "table",
            59.5 + draw(st.integers(-3, 3)) * 0.002 if located else None,
            24.5 + draw(st.integers(-3, 3)) * 0.004 if located else None,
            alt_m=draw(st.sampled_from([None, None, 0.0, 300.0, 3000.0])),
            sog_mps=draw(st.sampled_from([None, 0.0, 8.0, 120.0])),
            cog_deg=draw(st.sampled_from([None, 0.0, 90.0, 271.5])),
            vrate_mps=draw(st.sampled_from([None, 0.0, -5.0])),
            domain=draw(st.sampled_from([None, None, Domain.SEA, Domain.AIR])),
            party=draw(st.sampled_from([None, None, None, "RU", "EE", "civil"])),
            kind=draw(st.sampled_from([None, None, Kind.MILITARY, Kind.CIVIL])),
            transponder=draw(st.booleans()),
            callsign=draw(st.sampled_from([None, None, "RFF123", "ESTAF1"])),
            name=draw(st.sampled_from([None, None, "SOOBRAZITELNY", "@@"])),
            ship_type=draw(st.sampled_from([None, None, 0, 35, 70])),
        ))
    return reports


@settings(max_examples=80, deadline=None)
@given(_interleaved(), st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6), st.booleans())
def test_the_watch_takes_interleaved_late_and_repeated_reports_in_batches_as_one_by_one(
    observations: list[Observation], cuts: list[int], columnar: bool
) -> None:
    rulebook = load_rulebook()
    small = table_module._SMALL_BATCH
    table_module._SMALL_BATCH = 0 if columnar else small  # every batch through the columnar code, or the default
    try:
        expected, got = _rows_and_batches(observations, cuts, lambda: Watch(rulebook))
    finally:
        table_module._SMALL_BATCH = small
    assert repr(got) == repr(expected)  # repr: exact floats, and NaN equal to NaN


@pytest.mark.parametrize("columnar", [True, False])
def test_the_busy_hour_merged_in_time_order_gives_the_same_watch_column_wise(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, columnar: bool
) -> None:
    """As ``bench`` replays it: ships and aircraft merged in time order, fed 5,000 rows a call."""
    busy = busy_baltic_hour(data_dir, tmp_path, ships=80, aircraft=30, seed=3)
    stats = IngestStats()
    merged = ObservationBatch.concat(
        [*read_path_batches(busy.nmea_path, stats), *read_path_batches(busy.sbs_path, stats)]).in_time_order()
    if columnar:
        monkeypatch.setattr(table_module, "_SMALL_BATCH", 0)
    rulebook = load_rulebook()
    expected, got = _rows_and_batches(merged.observations(), [5000], lambda: Watch(rulebook))
    assert repr(got) == repr(expected)
    assert expected[1].observations == len(merged) > 5_000
