"""The compare on the exercise scenario (real tracks relocated): the group outside the declared area is found,
the declared activity inside it is accounted for, and the stored run gives the same answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from riskline.detection.rulebook import load_rulebook
from riskline.scenarios.exercise import ExerciseScenario, exercise_scenario
from riskline.storage.engine import open_database
from riskline.storage.transparency_store import load_activity
from riskline.storage.watch_run import RecordedRun
from riskline.transparency.activity import parse_notification, read_notification
from riskline.transparency.compare import compare
from riskline.transparency.observed import ObservedActivity
from riskline.transparency.plot import render_finding_png
from riskline.watch import Watch


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory) -> ExerciseScenario:
    return exercise_scenario(tmp_path_factory.mktemp("exercise"))


@pytest.fixture(scope="module")
def observed(exercise: ExerciseScenario, tmp_path_factory: pytest.TempPathFactory) -> ObservedActivity:
    db = tmp_path_factory.mktemp("db") / "watch.db"
    watch = Watch(load_rulebook())
    run = RecordedRun(db, [str(exercise.table_path)], watch)
    for observation in exercise.scenario.observations:
        run.record(watch.feed(observation))
    run.record(watch.finish())
    run.close()
    with open_database(db) as database:
        stored = load_activity(database)
    assert stored.rows() == watch.activity.activity().rows()
    return stored


def test_the_group_outside_the_declared_area_is_undeclared_activity(
    exercise: ExerciseScenario, observed: ObservedActivity
) -> None:
    declared = read_notification(exercise.notification_path)
    result = compare(observed, [declared], start=exercise.scenario.start, end=exercise.scenario.end + 1.0)
    [finding] = result.findings
    assert finding.to_json() == {
        "kind": "undeclared_activity", "party": "RU", "start": "2026-03-10T06:00:00Z", "end": "2026-03-10T09:15:00Z",
        "lat": 57.35561, "lon": 19.78281, "platforms": 5, "platform_hours": 13.75, "declared": None,
    }
    assert finding.platform_ids == exercise.outside
    assert (finding.sea_platforms, finding.air_platforms, finding.most_at_once) == (4, 1, 5)


def test_the_declared_activity_inside_the_area_is_accounted_for_and_no_finding(
    exercise: ExerciseScenario, observed: ObservedActivity
) -> None:
    declared = read_notification(exercise.notification_path)
    result = compare(observed, [declared], start=exercise.scenario.start, end=exercise.scenario.end + 1.0)
    [account] = result.accounted
    assert (account.platforms, account.sea_platforms, account.air_platforms, account.sorties) == (9, 6, 3, 3)
    assert result.covered_samples == 84
    assert not any(set(f.platform_ids) & set(exercise.inside) for f in result.findings)
    ee = observed.party_code("EE")
    assert ee >= 0
    assert all(f.party == "RU" for f in result.findings)


def test_declaring_fewer_vessels_than_seen_is_exceeded(exercise: ExerciseScenario, observed: ObservedActivity) -> None:
    data: dict[str, Any] = json.loads(exercise.notification_path.read_text(encoding="utf-8"))
    data.update(naval_vessels=4)
    result = compare(observed, [parse_notification(data)], start=exercise.scenario.start,
                     end=exercise.scenario.end + 1.0)
    assert [(f.kind, f.declared, f.exceeded) for f in result.findings] == [
        ("exceeds_declaration", "BALTIC-SHIELD-2026", {"naval_vessels": {"declared": 4, "observed": 6}}),
        ("undeclared_activity", None, {}),
    ]


def test_without_the_notification_both_groups_are_undeclared(
    exercise: ExerciseScenario, observed: ObservedActivity
) -> None:
    result = compare(observed, [], start=exercise.scenario.start, end=exercise.scenario.end + 1.0)
    assert sorted(f.platforms for f in result.findings) == [5, 9]


def test_the_evidence_picture_is_a_png(exercise: ExerciseScenario, observed: ObservedActivity, tmp_path: Path) -> None:
    declared = read_notification(exercise.notification_path)
    result = compare(observed, [declared], start=exercise.scenario.start, end=exercise.scenario.end + 1.0)
    png = render_finding_png(result.findings[0], observed, [declared])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 20_000
