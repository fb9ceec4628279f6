"""Reconstructed real incidents reproduce the reported geometry and carry the default rulebook's verdict."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from scenario_measure import closest_approach, volume_entries

from riskline.ingest.observation import Domain
from riskline.scenarios.errors import IncidentFileError
from riskline.scenarios.incidents import IncidentRow, Reconstruction, load_incidents, reconstruct

EXPECTED: dict[str, set[tuple[str, str]]] = {
    "2014-03-03": {("air_proximity", "high"), ("non_cooperative_aircraft", "high")},
    "2014-04-12": {("low_pass", "medium"), ("repeated_low_passes", "high")},
    "2014-12-12": set(),
    "2016-04-11": {("low_pass", "medium"), ("repeated_low_passes", "high")},
    "2016-04-12": {("low_pass", "medium"), ("repeated_low_passes", "high")},
    "2016-04-14": {("air_proximity", "high"), ("air_intercept", "medium")},
    "2016-04-29": {("air_proximity", "high"), ("air_intercept", "high")},
    "2017-05": {("air_proximity", "high"), ("air_intercept", "high")},
    "2017-06-19": {("air_proximity", "high"), ("air_intercept", "critical")},
    "2018-01-29": {("air_proximity", "high"), ("air_intercept", "critical")},
    "2020-08": {("air_proximity", "high"), ("air_intercept", "low")},
    "2023-03-14": {("air_proximity", "high"), ("air_intercept", "critical")},
}
WITHOUT_DISTANCE = {"2018-11-05", "2021-06-23", "2021-06-24", "2022-09-29"}
TARGETS = {  # [m] (horizontal, vertical) placed at the reported value x (1 - 1e-3)
    "2014-03-03": (89.91, 0.0), "2014-04-12": (913.086, 151.848), "2014-12-12": (0.0, 609.39),
    "2016-04-11": (913.086, 29.97), "2016-04-12": (8.991, 29.97), "2016-04-14": (14.985, 0.0),
    "2016-04-29": (7.992, 0.0), "2017-05": (5.994, 0.0), "2017-06-19": (1.4985, 0.0), "2018-01-29": (1.4985, 0.0),
    "2020-08": (29.97, 0.0), "2023-03-14": (0.0, 0.0),
}


@cache
def _rows(path: Path) -> tuple[IncidentRow, ...]:
    return tuple(load_incidents(path))


@cache
def _reconstruction(path: Path, date: str) -> Reconstruction:
    row = next(r for r in _rows(path) if r.date == date)
    return reconstruct(row, seed=0)


@pytest.fixture(scope="module")
def incidents_csv(domain_dir: Path) -> Path:
    return domain_dir / "incidents.csv"


def test_every_row_is_loaded_in_si_units(incidents_csv: Path) -> None:
    rows = _rows(incidents_csv)
    assert {r.date for r in rows} == set(EXPECTED) | WITHOUT_DISTANCE
    donald_cook_2014 = next(r for r in rows if r.date == "2014-04-12")
    assert (donald_cook_2014.passes, donald_cook_2014.duration_s) == (12, 5400.0)
    assert donald_cook_2014.t == 1397304000.0  # 2014-04-12T12:00:00Z
    month_only = next(r for r in rows if r.date == "2017-05")
    assert month_only.t == 1493640000.0  # 2017-05-01T12:00:00Z
    assert next(r for r in rows if r.date == "2014-03-03").transponder_b_off


@pytest.mark.parametrize("date", sorted(EXPECTED))
def test_the_expected_rules_and_bands_of_each_row_are_pinned(incidents_csv: Path, date: str) -> None:
    reconstruction = _reconstruction(incidents_csv, date)
    assert {(f.rule, f.severity) for f in reconstruction.expected} == EXPECTED[date]
    assert reconstruction.scenario is not None
    assert {(e.rule, e.severity) for e in reconstruction.scenario.expected} == EXPECTED[date]


@pytest.mark.parametrize("date", sorted(EXPECTED))
def test_the_sampled_tracks_reproduce_the_reported_closest_approach(incidents_csv: Path, date: str) -> None:
    reconstruction = _reconstruction(incidents_csv, date)
    scenario = reconstruction.scenario
    assert scenario is not None
    assert reconstruction.a
    assert reconstruction.b
    horizontal, vertical = TARGETS[date]
    assert (reconstruction.horizontal_m, reconstruction.vertical_m) == pytest.approx((horizontal, vertical))
    approach = closest_approach(scenario.track(reconstruction.a), scenario.track(reconstruction.b))
    assert approach.horizontal_m == pytest.approx(horizontal, abs=0.5)
    assert approach.vertical_m == pytest.approx(vertical, abs=0.5)


@pytest.mark.parametrize("date", sorted(EXPECTED))
def test_parties_domains_and_transponders_follow_the_row(incidents_csv: Path, date: str) -> None:
    reconstruction = _reconstruction(incidents_csv, date)
    row, scenario = reconstruction.row, reconstruction.scenario
    assert scenario is not None
    assert reconstruction.a
    assert reconstruction.b
    a, b = scenario.platform(reconstruction.a), scenario.platform(reconstruction.b)
    assert (a.party, b.party) == (row.party_a, row.party_b)
    domains = {"air-air": (Domain.AIR, Domain.AIR), "air-sea": (Domain.SEA, Domain.AIR)}[row.domain]
    assert (a.domain, b.domain) == domains
    assert b.transponder is (not row.transponder_b_off)
    assert a.transponder
    assert all(o.transponder is b.transponder for o in scenario.track(reconstruction.b))


@pytest.mark.parametrize("date", ["2014-04-12", "2016-04-11", "2016-04-12"])
def test_attack_runs_make_exactly_the_reported_number_of_low_passes(incidents_csv: Path, date: str) -> None:
    reconstruction = _reconstruction(incidents_csv, date)
    scenario = reconstruction.scenario
    assert scenario is not None
    assert reconstruction.a
    assert reconstruction.b
    passes = volume_entries(scenario.track(reconstruction.a), scenario.track(reconstruction.b), 914.0, 152.0)
    assert passes == reconstruction.row.passes
    window = reconstruction.row.duration_s or 1800.0
    aircraft = scenario.track(reconstruction.b)
    assert aircraft[-1].t - aircraft[0].t < window + 1200.0


def test_the_vertical_only_row_is_flown_directly_over_and_expects_nothing(incidents_csv: Path) -> None:
    reconstruction = _reconstruction(incidents_csv, "2014-12-12")
    assert reconstruction.expected == ()
    assert reconstruction.reason == (
        "only a vertical separation is reported (610 m): flown as a crossing directly over at 609.39 m, which is "
        "outside the default air-proximity volume (926 m horizontal and 91 m vertical), so the watch must report "
        "nothing for it"
    )


def test_the_row_judged_safe_is_still_flagged_and_says_the_label_is_human(incidents_csv: Path) -> None:
    reconstruction = _reconstruction(incidents_csv, "2017-05")
    assert ("air_intercept", "high") in {(f.rule, f.severity) for f in reconstruction.expected}
    assert "human judgement" in reconstruction.reason


@pytest.mark.parametrize("date", sorted(WITHOUT_DISTANCE))
def test_rows_without_a_distance_get_a_reason_and_no_scenario(incidents_csv: Path, date: str) -> None:
    row = next(r for r in _rows(incidents_csv) if r.date == date)
    reconstruction = reconstruct(row)
    assert reconstruction.scenario is None
    assert reconstruction.expected == ()
    assert reconstruction.reason == "no distance is reported, so there is no geometry to reconstruct"


def test_aircraft_fly_at_plausible_speeds(incidents_csv: Path) -> None:
    reconstruction = _reconstruction(incidents_csv, "2016-04-29")
    scenario = reconstruction.scenario
    assert scenario is not None
    assert reconstruction.a
    assert reconstruction.b
    rc135 = [o.sog_mps for o in scenario.track(reconstruction.a)]
    su27 = [o.sog_mps for o in scenario.track(reconstruction.b)]
    assert min(rc135) == pytest.approx(150.0)
    assert max(rc135) == pytest.approx(150.0)
    assert min(s for s in su27 if s is not None) > 140.0
    assert max(s for s in su27 if s is not None) < 260.0
    cook = _reconstruction(incidents_csv, "2016-04-12")
    assert cook.scenario is not None
    assert cook.a
    assert cook.b
    assert {o.sog_mps for o in cook.scenario.track(cook.a)} == {8.0}
    speeds = [o.sog_mps or 0.0 for o in cook.scenario.track(cook.b)]
    assert min(speeds) > 190.0
    assert max(speeds) < 210.0


def test_reconstruction_is_deterministic_given_a_seed(incidents_csv: Path) -> None:
    row = next(r for r in _rows(incidents_csv) if r.date == "2014-03-03")
    assert reconstruct(row, seed=5).scenario == reconstruct(row, seed=5).scenario
    assert reconstruct(row, seed=5).scenario != reconstruct(row, seed=6).scenario


def test_a_malformed_row_stops_the_load_with_the_line_and_column(tmp_path: Path, incidents_csv: Path) -> None:
    lines = incidents_csv.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace(",914,152,", ",far,152,")
    broken = tmp_path / "incidents.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(IncidentFileError, match=r"^.*incidents\.csv:3: closest_horizontal_m: not a number: 'far'$"):
        load_incidents(broken)
