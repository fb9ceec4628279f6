"""``hazard_area_entry`` on the exercise scenario: the EE patrol vessel heading into RU's announced gunnery circle
is predicted to enter it half an hour ahead, then seen inside; RU's own ships inside it are not flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskline.detection.errors import RulebookError
from riskline.detection.rulebook import load_rulebook
from riskline.detection.rules import REGISTRY, RULES
from riskline.detection.rules.hazard_area_entry import load_hazards
from riskline.incidents.model import Encounter
from riskline.scenarios.exercise import ExerciseScenario, exercise_scenario
from riskline.timeutil import to_iso
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
