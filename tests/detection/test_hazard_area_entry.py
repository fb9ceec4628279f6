"""``hazard_area_entry`` on the exercise scenario: the EE patrol vessel heading into RU's announced gunnery circle
is predicted to enter it half an hour ahead, then seen inside; RU's own ships inside it are not flagged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.detection.detector import Detector
from riskline.detection.errors import RulebookError
from riskline.detection.geometry import track_motion
from riskline.detection.rulebook import load_rulebook
from riskline.detection.rules import REGISTRY, RULES
from riskline.detection.rules.hazard_area_entry import load_hazards
from riskline.incidents.model import Encounter
from riskline.scenarios.exercise import ExerciseScenario, exercise_scenario
from riskline.timeutil import to_iso
from riskline.tracks.snapshot import Snapshot
from riskline.transparency.hazard import notice_from_navarea
from riskline.transparency.navarea import parse_navarea
from riskline.watch import Watch


def hazards_file(made: ExerciseScenario, path: Path, **notice_changes: object) -> Path:
    text = made.navarea_path.read_text(encoding="utf-8")
    notice = {**notice_from_navarea(parse_navarea(text), text), **notice_changes}
    path.write_text(json.dumps([{"party": "RU", "issued": made.navarea_issued, "notice": notice}]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> ExerciseScenario:
    return exercise_scenario(tmp_path_factory.mktemp("exercise"))


def run(made: ExerciseScenario, hazards: Path, *overrides: str) -> list[Encounter]:
    watch = Watch(load_rulebook(overrides=[f"hazard_area_entry.notices={hazards}", *overrides]))
    encounters = list(watch.feed_all(made.scenario.observations))
    return encounters + watch.finish()


def test_the_patrol_vessel_is_predicted_to_enter_the_gunnery_circle_half_an_hour_ahead(
    made: ExerciseScenario, tmp_path: Path
) -> None:
    [entry] = run(made, hazards_file(made, tmp_path / "hazards.json"))
    assert (entry.rule, entry.a, entry.b, entry.party_a, entry.party_b, entry.occurred) == (
        "hazard_area_entry", made.intruder, "hazard:NAVAREA I 58/26", "EE", "RU", True
    )
    assert (to_iso(entry.start), to_iso(entry.first_alert or 0.0)) == ("2026-03-10T08:18:00Z", "2026-03-10T07:47:02Z")
    assert entry.start - (entry.first_alert or 0.0) == 1858.0
    assert (entry.details["notice_lead_days"], entry.details["notice_lead"]) == (4.0, "in_time")
    assert entry.details["mark"] == "V"


def test_outside_the_announced_window_the_area_is_not_there(made: ExerciseScenario, tmp_path: Path) -> None:
    late = hazards_file(made, tmp_path / "late.json", start=made.scenario.end + 3600, end=made.scenario.end + 7200)
    assert run(made, late) == []


def test_a_notice_issued_a_day_ahead_is_flagged_short(made: ExerciseScenario, tmp_path: Path) -> None:
    path = hazards_file(made, tmp_path / "short.json")
    items = json.loads(path.read_text(encoding="utf-8"))
    items[0]["issued"] = made.scenario.start - 86_400.0
    path.write_text(json.dumps(items), encoding="utf-8")
    [entry] = run(made, path)
    assert entry.details["notice_lead"] == "short"


def test_a_bad_hazard_file_is_one_line_naming_the_item(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"party": "RU", "notice": {"area": {"coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1],
                                                                                    [0, 0]]]},
                                                         "start": 0, "end": 10}}]), encoding="utf-8")
    with pytest.raises(RulebookError, match=r"bad\.json: item 0: notice\.area: not a valid polygon: Self-intersection"):
        load_hazards(path)


def test_the_rule_came_through_the_registry_and_the_rulebook_may_omit_it() -> None:
    assert [spec.name for spec in REGISTRY][-1] == "hazard_area_entry"
    spec = RULES["hazard_area_entry"]
    assert (spec.domain, spec.reach_m, spec.area is not None, spec.default) == ("air-sea", None, True, True)
    rulebook = load_rulebook(overrides=["hazard_area_entry.lookahead_s=600"])
    assert rulebook.hazard_area_entry.lookahead_s == 600.0
    assert rulebook.rule("hazard_area_entry").citation.mark == "V"


def test_every_pair_rule_declares_reach_and_horizon_and_every_rule_a_plot_threshold_source() -> None:
    rulebook = load_rulebook()
    for spec in REGISTRY:
        frozen = rulebook.rule(spec.name)
        assert spec.horizon_s(frozen) >= 0.0
        if spec.pairs is not None:
            assert spec.reach_m is not None
            assert spec.reach_m(frozen) > 0.0
        assert (spec.pairs is not None) + (spec.area is not None) + spec.derived == 1, spec.name
    stored = dict(rulebook.as_dict()["rules"])
    assert {spec.name: spec.plot_threshold(stored) for spec in REGISTRY} == {
        "air_proximity": 926.0, "air_intercept": 30.0, "low_pass": 914.0, "repeated_low_passes": 914.0,
        "ship_contact_range": 5556.0, "non_cooperative_aircraft": 926.0, "territorial_entry": None,
        "hazard_area_entry": None,
    }


# --- the box prefilter and the vectorised samples find what a point-by-point test finds ----------------------------

T = 1_773_136_800.0  # [s] 2026-03-10 10:00 UTC
LAT, LON = 59.5, 23.0  # [deg]


def random_picture(seed: int, n: int) -> Snapshot:
    """``n`` ships and aircraft (some of unknown altitude) within about 10 km, of RU, EE and civil, moving anywhere."""
    rng = np.random.default_rng(seed)
    air = rng.random(n) < 0.5
    speed = np.where(air, rng.uniform(60.0, 250.0, n), rng.uniform(0.0, 15.0, n))  # [m/s]
    heading = rng.uniform(0.0, 2 * np.pi, n)
    return Snapshot(
        t=T,
        ids=tuple(f"id:{k:03d}" for k in range(n)),
        party=rng.integers(0, 3, n).astype(np.int64),
        party_names=("EE", "RU", "civil"),
        is_air=air,
        is_military=rng.random(n) < 0.5,
        transponder=np.ones(n, dtype=bool),
        lat=LAT + rng.uniform(-0.05, 0.05, n),
        lon=LON + rng.uniform(-0.1, 0.1, n),
        alt=np.where(air, np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0.0, 3000.0, n)), 0.0),
        v_east=speed * np.sin(heading),
        v_north=speed * np.cos(heading),
        v_up=np.where(air, rng.normal(0.0, 5.0, n), 0.0),
        t_fix=T - rng.uniform(0.0, 10.0, n),
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    radius_deg=st.sampled_from([0.005, 0.05, 0.5]),
    starts_in_s=st.sampled_from([-600.0, 0.0, 450.0]),
    upper_m=st.sampled_from([None, 1500.0]),
)
def test_the_first_sample_inside_is_what_shapely_finds_point_by_point(
    tmp_path_factory: pytest.TempPathFactory, seed: int, radius_deg: float, starts_in_s: float, upper_m: float | None
) -> None:
    import shapely
    from shapely.geometry import Point, mapping

    rng = np.random.default_rng(seed)
    area = Point(LON + rng.uniform(-0.1, 0.1), LAT + rng.uniform(-0.05, 0.05)).buffer(radius_deg)
    start, end = T + starts_in_s, T + starts_in_s + 900.0
    notice = {"area": {"type": "Polygon", "coordinates": [[list(p) for p in ring]
                                                          for ring in mapping(area)["coordinates"]]},
              "start": start, "end": end, "nature": "gunnery", "lower_m": 100.0, "upper_m": upper_m}
    path = tmp_path_factory.mktemp("hazard") / "hazards.json"
    path.write_text(json.dumps([{"party": "RU", "notice": notice}]), encoding="utf-8")
    picture = random_picture(seed, 120)
    detector = Detector(load_rulebook(overrides=[f"hazard_area_entry.notices={json.dumps(str(path))}"]))
    entries = {(f.a, f.t_entry) for f in detector.detect(picture, T, since=T - 2.0) if f.rule == "hazard_area_entry"}
    expected = set()
    motion = track_motion(picture, T)
    upper = np.inf if upper_m is None else upper_m
    for k in range(len(picture)):
        if picture.party_names[int(picture.party[k])] == "RU":
            continue
        for step in np.arange(0.0, 1800.0 + 1e-9, 30.0):
            if not start <= T + step <= end:
                continue
            lat = motion.lat[k] + motion.lat_rate[k] * step
            lon = motion.lon[k] + motion.lon_rate[k] * step
            alt = motion.alt[k] + motion.v_up[k] * step if picture.is_air[k] else 0.0
            alt = 100.0 if np.isnan(alt) else alt
            if shapely.intersects(area, Point(lon, lat)) and 100.0 <= alt <= upper:
                expected.add((picture.ids[k], T + float(step)))
                break
    assert entries == expected
