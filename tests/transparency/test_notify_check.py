"""Each obligation, breach and warning of the bundled Vienna Document regime file, on Zapad-2017 and its variants."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notification_samples import ZAPAD_2017

from riskline.transparency.activity import parse_notification, read_notification
from riskline.transparency.check import check_notification
from riskline.transparency.errors import InvalidNotification, RegimeError
from riskline.transparency.regime import COUNTS, default_regime_text, load_regime

REGIME = load_regime()


def check(data: dict[str, Any], **kwargs: Any) -> dict[str, list[str]]:
    result = check_notification(parse_notification(data), REGIME, **kwargs)
    return {which: result.kinds(which) for which in ("obligations", "breaches", "warnings")}


def test_the_regime_file_carries_the_figures_and_marks_of_regimes_md() -> None:
    assert [(t.count, t.value, t.mark) for t in REGIME.notification] == [
        ("troops", 9000, "S"),
        ("tanks", 250, "U"),
        ("acv", 500, "U"),
        ("artillery", 250, "U"),
        ("aircraft_sorties", 200, "U"),
        ("amphibious_troops", 3000, "U"),
        ("airborne_troops", 3000, "U"),
    ]
    assert [(t.count, t.value, t.mark) for t in REGIME.observation] == [
        ("troops", 13000, "S"),
        ("tanks", 300, "U"),
        ("acv", 500, "U"),
        ("artillery", 250, "U"),
        ("amphibious_troops", 3500, "U"),
        ("airborne_troops", 3500, "U"),
    ]
    assert REGIME.notification_lead_s == 42 * 86_400.0
    assert (REGIME.calendar_due_month, REGIME.calendar_due_day) == (11, 15)
    assert [(c.name, c.per_years, c.max_count, c.max_simultaneous) for c in REGIME.constraints] == [
        ("large", 3, 1, None),
        ("medium", 1, 6, 3),
        ("medium-upper", 1, 3, None),
    ]
    assert REGIME.clarification_reply_s == 48 * 3600.0
    assert (REGIME.hazard_min_lead_s, REGIME.hazard_max_lead_s) == (3 * 86_400.0, 5 * 86_400.0)


def test_zapad_2017_as_declared_is_notifiable_but_not_observable_and_hugs_the_observation_threshold(
    zapad: dict[str, Any],
) -> None:
    result = check_notification(parse_notification(zapad), REGIME)
    assert result.kinds("obligations") == ["prior_notification", "annual_calendar"]
    assert result.breaches == ()
    [hug] = result.warnings
    assert (hug.kind, hug.count, hug.declared, hug.threshold) == ("threshold_hugging", "troops", 12700, 13000)
    assert hug.detail == "troops 12,700 is 300 (2.3%) below the observation threshold 13,000"


def test_a_notice_given_41_days_ahead_is_late(zapad: dict[str, Any]) -> None:
    zapad["notified"] = "2017-08-04T00:00:00Z"
    result = check_notification(parse_notification(zapad), REGIME)
    [late] = result.breaches
    assert late.kind == "late_notification"
    assert late.extra == {"lead_days": 41.0, "due_days": 42.0}


def test_a_notice_given_exactly_42_days_ahead_is_on_time(zapad: dict[str, Any]) -> None:
    zapad["notified"] = "2017-08-03T00:00:00Z"
    assert check(zapad)["breaches"] == []


def test_a_notifiable_activity_not_in_the_calendar_breaches_chapter_vii(zapad: dict[str, Any]) -> None:
    zapad["calendar_year_listed"] = False
    assert check(zapad)["breaches"] == ["missing_from_calendar"]


def test_the_calendar_decides_when_the_notification_does_not_say(zapad: dict[str, Any]) -> None:
    del zapad["calendar_year_listed"]
    assert check(zapad, calendar=["LADOGA-2017"])["breaches"] == ["missing_from_calendar"]
    assert check(zapad, calendar=["ZAPAD-2017"])["breaches"] == []
    assert check(zapad)["breaches"] == []


def test_observation_is_triggered_at_13000_troops_and_a_constraint_tier_counts_it(zapad: dict[str, Any]) -> None:
    zapad["troops"] = 13000
    assert check(zapad) == {
        "obligations": ["prior_notification", "annual_calendar", "observation", "constraint"],
        "breaches": [],
        "warnings": [],
    }


def test_below_every_threshold_nothing_is_owed(zapad: dict[str, Any]) -> None:
    zapad.update(troops=5000, acv=100, artillery=100)
    assert check(zapad) == {"obligations": [], "breaches": [], "warnings": []}


def test_a_seventh_medium_activity_in_one_year_is_over_the_constraint(zapad: dict[str, Any]) -> None:
    zapad["troops"] = 14000
    others = []
    for month in range(1, 7):
        other = dict(
            zapad,
            designation=f"EXERCISE-{month}",
            start=f"2017-0{month}-01T00:00:00Z",
            end=f"2017-0{month}-05T00:00:00Z",
            notified="2016-11-01T00:00:00Z",
        )
        others.append(parse_notification(other))
    result = check_notification(parse_notification(zapad), REGIME, others=others)
    [over] = result.breaches
    assert over.kind == "over_constraint"
    assert over.detail == "7 activities above 'medium' in 2017; at most 6"


def test_a_fourth_simultaneous_medium_activity_is_over_the_constraint(zapad: dict[str, Any]) -> None:
    zapad["troops"] = 14000
    others = [parse_notification(dict(zapad, designation=f"PARALLEL-{k}")) for k in range(3)]
    result = check_notification(parse_notification(zapad), REGIME, others=others)
    assert [item.detail for item in result.breaches] == ["4 activities above 'medium' at the same time; at most 3"]


def test_a_second_large_activity_within_three_years_is_over_the_constraint(zapad: dict[str, Any]) -> None:
    zapad["troops"] = 45000
    vostok = dict(
        zapad,
        designation="EARLIER-2016",
        start="2016-09-01T00:00:00Z",
        end="2016-09-07T00:00:00Z",
        notified="2016-06-01T00:00:00Z",
    )
    result = check_notification(parse_notification(zapad), REGIME, others=[parse_notification(vostok)])
    assert ("over_constraint", "2 activities above 'large' in 2016–2018; at most 1") in [
        (item.kind, item.detail) for item in result.breaches
    ]


def test_a_cancelled_activity_triggers_nothing(zapad: dict[str, Any]) -> None:
    zapad.update(cancelled=True, amends="ZAPAD-2017", troops=50000, notified="2017-09-13T00:00:00Z")
    assert check(zapad) == {"obligations": [], "breaches": [], "warnings": []}


def test_the_margin_is_configurable(zapad: dict[str, Any]) -> None:
    zapad.update(troops=11500)
    assert check(zapad)["warnings"] == []
    wide = load_regime(hugging_margin=0.15)
    assert check_notification(parse_notification(zapad), wide).kinds("warnings") == ["threshold_hugging"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"troops": -1}, "troops: Input should be greater than or equal to 0"),
        ({"end": "2017-09-13T00:00:00Z"}, "end: 2017-09-13T00:00:00Z is not after the start 2017-09-14T00:00:00Z"),
        ({"start": "2017-09-14"}, "start: Value error, '2017-09-14' needs a zone (e.g. Z for UTC)"),
        (
            {"area": {"type": "Polygon", "coordinates": [[[23.5, 52.0], [31.0, 95.0], [31.0, 55.5], [23.5, 52.0]]]}},
            "area.coordinates.0: position [31.0, 95.0] is outside lon -180..180, lat -90..90",
        ),
        (
            {"area": {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}},
            "area: not a valid polygon: Self-intersection[1 1]",
        ),
        (
            {"area": {"type": "Point", "coordinates": [1, 2]}},
            "area: Input tag 'Point' found using 'type' does not"
            " match any of the expected tags: 'Polygon', 'MultiPolygon'",
        ),
        ({"states": []}, "states: List should have at least 1 item after validation, not 0"),
        ({"tank": 3}, "tank: Extra inputs are not permitted"),
    ],
)
def test_bad_input_is_one_error_naming_the_field(zapad: dict[str, Any], change: dict[str, Any], message: str) -> None:
    zapad.update(change)
    with pytest.raises(InvalidNotification) as caught:
        parse_notification(zapad)
    assert str(caught.value) == message


def test_a_phase_outside_the_activity_is_refused(zapad: dict[str, Any]) -> None:
    zapad["phases"] = [
        {"name": "live firing", "start": "2017-09-19T00:00:00Z", "end": "2017-09-22T00:00:00Z", "area": zapad["area"]}
    ]
    with pytest.raises(InvalidNotification, match=r"^phases\.0: runs .* outside the activity's window$"):
        parse_notification(zapad)


def test_a_toml_notification_mirrors_the_json_one(tmp_path: Path, zapad: dict[str, Any]) -> None:
    path = tmp_path / "zapad.toml"
    path.write_text(
        'party = "RU"\ndesignation = "ZAPAD-2017"\npurpose = "Joint strategic exercise of the armed forces of '
        'Belarus and Russia"\nstates = ["BY", "RU"]\nlevel_of_command = "joint strategic command"\n'
        "notified = 2017-07-13T00:00:00Z\nstart = 2017-09-14T00:00:00Z\nend = 2017-09-20T23:59:59Z\n"
        "troops = 12700\ntanks = 70\nacv = 250\nartillery = 200\nmlrs = 10\nhelicopters = 40\n"
        "aircraft_sorties = 70\nnaval_vessels = 10\ncalendar_year_listed = true\n"
        '[area]\ntype = "Polygon"\n'
        "coordinates = [[[23.5, 52.0], [31.0, 52.0], [31.0, 55.5], [23.5, 55.5], [23.5, 52.0]]]\n",
        encoding="utf-8",
    )
    from_toml = read_notification(path)
    assert from_toml.document == parse_notification(zapad).document


def test_a_regime_file_with_a_wrong_figure_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "regime.toml"
    path.write_text(default_regime_text().replace("value = 9000", "value = -9000"), encoding="utf-8")
    with pytest.raises(RegimeError, match=r"notification\.threshold\.0\.value: Input should be greater than 0$"):
        load_regime(path)


def test_a_corrected_figure_changes_the_judgement_without_code(tmp_path: Path, zapad: dict[str, Any]) -> None:
    path = tmp_path / "regime.toml"
    path.write_text(default_regime_text().replace("value = 13000", "value = 12000", 1), encoding="utf-8")
    result = check_notification(parse_notification(zapad), load_regime(path))
    assert "observation" in result.kinds("obligations")


@given(st.dictionaries(st.sampled_from(COUNTS), st.integers(0, 100_000)))
def test_an_obligation_appears_exactly_when_a_figure_reaches_its_threshold(counts: dict[str, int]) -> None:
    data = {**copy.deepcopy(ZAPAD_2017), **dict.fromkeys(COUNTS, 0), **counts}
    result = check_notification(parse_notification(data), REGIME)
    notifiable = any(counts.get(t.count, 0) >= t.value for t in REGIME.notification)
    observable = any(counts.get(t.count, 0) >= t.value for t in REGIME.observation)
    assert ("prior_notification" in result.kinds("obligations")) is notifiable
    assert ("observation" in result.kinds("obligations")) is observable
    for warning in result.warnings:
        assert warning.declared is not None
        assert warning.threshold is not None
        assert warning.threshold * 0.9 <= warning.declared < warning.threshold
