"""Cutting history into windows and cells, the watch per piece, and stitching: the answer of one watch."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from history_support import identity
from hypothesis import given
from hypothesis import strategies as st

from riskline.detection.rulebook import Rulebook
from riskline.history.partition import (
    HistoryError,
    HistoryPlan,
    PartitionKey,
    PartitionResult,
    join,
    partition_keys,
    run_in_process,
    stitch,
)
from riskline.incidents.model import Encounter
from riskline.ingest.observation import Observation
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.scenarios.history_feed import repeat_positions
from riskline.storage.watch_store import encounter_to_row
from riskline.tracks.attribution import Attributor
from riskline.watch import Watch, in_time_order

TWO_HOURS = HistoryPlan(window_s=7_200.0, warmup_s=3_900.0, tail_s=3_900.0)
ACROSS = HistoryPlan(window_s=6_240.0, warmup_s=3_900.0, tail_s=3_900.0)
"""Windows whose border falls 96 minutes into the feed: in the middle of the second copy's encounters."""


def test_time_windows_give_the_encounters_of_one_watch_pair_for_pair_and_rule_for_rule(
    observations: list[Observation], rulebook: Rulebook, attributor: Attributor, one_watch: list[Encounter]
) -> None:
    assert len(one_watch) > 0
    for plan in (ACROSS,):
        windows = {int(o.t // plan.window_s) for o in observations}
        assert len(windows) >= 2  # the feed really is cut
        found = run_in_process(observations, rulebook, attributor, plan)
        assert sorted(map(identity, found)) == sorted(map(identity, one_watch))
    border = (observations[0].t // ACROSS.window_s + 1) * ACROSS.window_s
    assert any(e.start < border < e.end + 600 for e in one_watch)  # some encounters run across the border


def test_cells_with_a_halo_give_the_same_encounters(
    observations: list[Observation], rulebook: Rulebook, attributor: Attributor
) -> None:
    first_copy = [o for o in observations if o.t < observations[0].t + 3_600.0]
    watch = Watch(rulebook, attributor=attributor)
    expected = list(watch.feed_all(first_copy)) + watch.finish()
    plan = replace(TWO_HOURS, cell_deg=4.0, halo_m=150_000.0)
    lats = {int(o.lat // 4.0) for o in first_copy if o.lat is not None}
    lons = {int(o.lon // 4.0) for o in first_copy if o.lon is not None}
    assert len(lats) * len(lons) >= 4  # the area really is cut into cells
    found = run_in_process(first_copy, rulebook, attributor, plan)
    assert sorted(map(identity, found)) == sorted(map(identity, expected))


@given(t=st.floats(min_value=0, max_value=4e9))
def test_an_observation_goes_to_its_window_and_to_each_neighbour_whose_warmup_or_tail_holds_it(t: float) -> None:
    keys = partition_keys(Observation(t=t, platform_id="mmsi:1", source="table", lat=55.0, lon=20.0), TWO_HOURS)
    windows = [key.window for key in keys]
    for window in range(int(t // 7_200.0) - 2, int(t // 7_200.0) + 3):
        start, end = window * 7_200.0, (window + 1) * 7_200.0
        needed = start - TWO_HOURS.warmup_s <= t < end + TWO_HOURS.tail_s
        assert (window in windows) == needed


def test_a_warmup_shorter_than_the_watch_remembers_is_refused(rulebook: Rulebook) -> None:
    with pytest.raises(HistoryError, match=r"^warm-up 600 s is shorter than the watch's memory \(3900 s\)$"):
        replace(TWO_HOURS, warmup_s=600.0).check(rulebook)


def test_a_cut_encounter_is_joined_with_its_continuation(one_watch: list[Encounter]) -> None:
    whole = one_watch[0]
    middle = (whole.start + whole.end) / 2
    head = replace(whole, end=middle, min_distance_m=whole.min_distance_m + 5.0)
    rest = replace(whole, start=middle - 600.0)
    results = [
        PartitionResult(PartitionKey(10, (0, 0)), head, owned=True, cut=True),
        PartitionResult(PartitionKey(11, (0, 0)), rest, owned=False, cut=False),
    ]
    [stitched] = stitch(results, TWO_HOURS)
    assert stitched == join(head, rest)
    assert (stitched.start, stitched.end, stitched.min_distance_m) == (whole.start, whole.end, whole.min_distance_m)


def test_a_day_without_data_ends_every_encounter_and_daily_windows_agree(
    feed: tuple[Path, Path], tmp_path: Path, rulebook: Rulebook, attributor: Attributor
) -> None:
    """Two copies of the scenario a day apart: the watch does not stretch an encounter across the empty day
    (its hold ran out), and after it restarts its tick clock as a fresh watch does, so one-day windows, which
    never see both copies, give the same encounters, field for field (the first alert of the second day too)."""
    source = feed[0].parent / "demo_positions.csv"
    one = list(in_time_order([read_path(source, IngestStats())]))
    watch = Watch(rulebook, attributor=attributor)
    single = list(watch.feed_all(one)) + watch.finish()
    repeat_positions(source, tmp_path / "two-days.csv", copies=2, every_s=86_400.0)
    two = list(in_time_order([read_path(tmp_path / "two-days.csv", IngestStats())]))
    watch = Watch(rulebook, attributor=attributor)
    both = list(watch.feed_all(two)) + watch.finish()
    assert len(both) == 2 * len(single)
    daily = run_in_process(two, rulebook, attributor, HistoryPlan())
    assert sorted(map(identity, daily)) == sorted(map(identity, both))
    assert sorted(map(stored_form, daily)) == sorted(map(stored_form, both))  # every field, evidence included


def stored_form(encounter: Encounter) -> str:
    """The encounter as ``--out`` stores it (every float exact, evidence included)."""
    return json.dumps(encounter_to_row(encounter), sort_keys=True)
