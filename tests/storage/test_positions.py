"""Area queries over stored fixes and incidents: the same answers on SQLite and on PostgreSQL/PostGIS, equal to
shapely over the fixes themselves; month partitions on PostgreSQL; a fix heard twice is stored once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from riskline.incidents.model import Encounter
from riskline.ingest.observation import Observation
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.storage import Database, WatchStore
from riskline.storage.positions import PositionStore, TrackPassage, month_partition


def real_fixes(data_dir: Path) -> list[Observation]:
    """Every positioned report of the two real military flights (two different months of 2020)."""
    stats = IngestStats()
    fixes = []
    for name in ("aircraft_carrier.json.gz", "inflight_refuelling.json.gz"):
        fixes += [o for o in read_path(data_dir / "traffic" / name, stats) if o.has_position]
    return fixes


def oracle(fixes: list[Observation], area: Polygon, start: float, end: float) -> list[TrackPassage]:
    inside = [
        o for o in fixes
        if start <= o.t <= end and shapely.intersects_xy(area, o.lon, o.lat)  # type: ignore[arg-type]
    ]
    passages = []
    for pid in sorted({o.platform_id for o in inside}):
        times = sorted({o.t for o in inside if o.platform_id == pid})
        passages.append(TrackPassage(pid, times[0], times[-1], len(times)))
    return sorted(passages, key=lambda p: (p.first_t, p.platform_id))


def test_tracks_through_an_area_match_shapely_over_the_real_fixes(database: Database, data_dir: Path) -> None:
    fixes = real_fixes(data_dir)
    store = PositionStore(database)
    unique = {(o.platform_id, o.t) for o in fixes}
    assert store.save_positions(fixes) == len(unique)
    assert store.save_positions(fixes[:100]) == 0
    assert store.count() == len(unique)
    lon = np.array([o.lon for o in fixes])
    lat = np.array([o.lat for o in fixes])
    t = np.array([o.t for o in fixes])
    whole = box(lon.min() - 1, lat.min() - 1, lon.max() + 1, lat.max() + 1)
    centre = box(np.median(lon) - 0.5, np.median(lat) - 0.5, np.median(lon) + 0.5, np.median(lat) + 0.5)
    triangle = Polygon([(lon.min(), lat.min()), (lon.max(), lat.min()), (np.median(lon), lat.max())])
    for area in (whole, centre, triangle):
        for start, end in ((t.min(), t.max()), (np.median(t), t.max()), (t.min(), t.min() + 600)):
            assert store.tracks_through_area(area, start, end) == oracle(fixes, area, start, end)
    assert len(store.tracks_through_area(whole, t.min(), t.max())) == 2
    if database.dialect == "postgresql":
        assert store.partitions() == sorted({month_partition(o.t).name for o in fixes})
        assert store.partitions() == ["track_positions_2020_06", "track_positions_2020_09"]


def test_incidents_in_an_area_are_those_whose_closest_approach_lies_inside(
    database: Database, real_encounter: Encounter
) -> None:
    store = WatchStore(database)
    run_id = store.begin_run(["area"], {}, 0.0)
    north = replace(real_encounter, lat=real_encounter.lat + 2.0, start=real_encounter.start + 10.0)
    ids = store.save_encounters(run_id, [real_encounter, north])
    lat, lon = real_encounter.lat, real_encounter.lon
    positions = PositionStore(database)
    around_first = box(lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1)
    around_both = box(lon - 0.1, lat - 0.1, lon + 0.1, lat + 2.1)
    assert [i.id for i in positions.incidents_in_area(around_first)] == ids[:1]
    assert [i.id for i in positions.incidents_in_area(around_both)] == ids
    assert positions.incidents_in_area(around_both, start=real_encounter.end + 11.0) == []
    assert positions.incidents_in_area(box(lon + 1, lat + 1, lon + 2, lat + 1.5)) == []


def test_month_partitions_cover_the_calendar_month_in_utc() -> None:
    november = month_partition(1_796_083_199.0)  # 2026-11-30T23:59:59Z
    assert november.name == "track_positions_2026_11"
    assert (november.start, november.end) == (1_793_491_200.0, 1_796_083_200.0)
    assert month_partition(1_796_083_200.0).name == "track_positions_2026_12"
    assert month_partition(1_798_761_600.0).name == "track_positions_2027_01"
