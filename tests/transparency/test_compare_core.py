"""Declared against observed on hand-made samples: what is accounted for, what exceeds, what is undeclared."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from notification_samples import ZAPAD_2017

from riskline.timeutil import parse_time
from riskline.transparency.activity import parse_notification
from riskline.transparency.compare import CompareSettings, compare, effective
from riskline.transparency.observed import ObservedActivity

T0 = parse_time("2017-09-15T00:00:00Z")
HOUR = 3600.0
Row = tuple[float, str, str, bool, float, float]


def group(
    party: str,
    prefix: str,
    lat: float,
    lon: float,
    count: int,
    hours: float,
    *,
    air: bool = False,
    spacing_deg: float = 0.1,
    t0: float = T0,
) -> list[Row]:
    """``count`` platforms ``spacing_deg`` apart in latitude, one sample per 15-min bin for ``hours``."""
    bins = int(hours * 4)
    return [
        (t0 + b * 900.0, f"id:{prefix}{k}", party, air, lat + k * spacing_deg, lon)
        for b in range(bins)
        for k in range(count)
    ]


def zapad(**changes: Any) -> Any:
    data = copy.deepcopy(ZAPAD_2017)
    data.update(changes)
    return parse_notification(data)


def run(rows: list[Row], notifications: list[Any], **kwargs: Any) -> Any:
    return compare(ObservedActivity.from_rows(rows), notifications, start=T0, end=T0 + 24 * HOUR, **kwargs)


def test_activity_inside_the_declared_area_and_window_is_accounted_for() -> None:
    result = run(group("RU", "ship", 54.0, 28.0, 6, 3), [zapad()])
    assert result.findings == ()
    assert result.covered_samples == result.samples == 6 * 12
    [account] = result.accounted
    assert (account.designation, account.platforms, account.sea_platforms, account.platform_hours) == (
        "ZAPAD-2017",
        6,
        6,
        18.0,
    )


def test_four_platforms_outside_every_declaration_for_an_hour_are_undeclared_activity() -> None:
    result = run(group("RU", "ship", 57.0, 20.0, 4, 1.25), [zapad()])
    [finding] = result.findings
    assert finding.to_json() == {
        "kind": "undeclared_activity",
        "party": "RU",
        "start": "2017-09-15T00:00:00Z",
        "end": "2017-09-15T01:15:00Z",
        "lat": 57.15,
        "lon": 20.0,
        "platforms": 4,
        "platform_hours": 5.0,
        "declared": None,
    }
    assert finding.series_n == (4, 4, 4, 4, 4)
    assert finding.basis.startswith("4 or more military platforms within 100 km for 1.0 h")


def test_three_platforms_or_under_an_hour_or_spread_over_200_km_are_not_findings() -> None:
    assert run(group("RU", "a", 57.0, 20.0, 3, 3), []).findings == ()
    assert run(group("RU", "b", 57.0, 20.0, 4, 0.75), []).findings == ()
    assert run(group("RU", "c", 57.0, 20.0, 4, 3, spacing_deg=1.0), []).findings == ()


def test_platforms_of_two_parties_do_not_make_one_group() -> None:
    rows = group("RU", "ru", 57.0, 20.0, 2, 3) + group("EE", "ee", 57.05, 20.0, 2, 3)
    assert run(rows, []).findings == ()


def test_the_same_group_is_undeclared_for_another_party_than_the_notifying_one() -> None:
    [finding] = run(group("BY", "by", 54.0, 28.0, 5, 2), [zapad()]).findings
    assert (finding.kind, finding.party, finding.declared) == ("undeclared_activity", "BY", None)


def test_activity_after_the_declared_window_is_not_covered_by_it() -> None:
    late = group("RU", "late", 54.0, 28.0, 4, 2, t0=parse_time("2017-09-21T00:00:00Z"))
    result = compare(ObservedActivity.from_rows(late), [zapad()], start=T0, end=T0 + 10 * 86_400.0)
    assert [f.kind for f in result.findings] == ["undeclared_activity"]


def test_more_naval_vessels_or_sorties_than_declared_exceed_the_declaration() -> None:
    ships = group("RU", "ship", 54.0, 28.0, 6, 3)
    aircraft = group("RU", "jet", 53.0, 25.0, 3, 1, air=True)
    aircraft += group("RU", "jet", 53.0, 25.0, 3, 1, air=True, t0=T0 + 4 * HOUR)
    result = run(ships + aircraft, [zapad(naval_vessels=4, aircraft_sorties=5)])
    [finding] = result.findings
    assert (finding.kind, finding.declared, finding.platforms, finding.sorties) == (
        "exceeds_declaration",
        "ZAPAD-2017",
        9,
        6,
    )
    assert finding.exceeded == {
        "aircraft_sorties": {"declared": 5, "observed": 6},
        "naval_vessels": {"declared": 4, "observed": 6},
    }


def test_a_phase_covers_only_its_own_area_and_dates() -> None:
    west = {"type": "Polygon", "coordinates": [[[23.5, 52.0], [27.0, 52.0], [27.0, 55.5], [23.5, 55.5], [23.5, 52.0]]]}
    phased = zapad(
        phases=[{"name": "west", "start": "2017-09-14T00:00:00Z", "end": "2017-09-20T00:00:00Z", "area": west}]
    )
    [finding] = run(group("RU", "east", 54.0, 29.0, 4, 2), [phased]).findings
    assert finding.kind == "undeclared_activity"
    assert run(group("RU", "west", 54.0, 25.0, 4, 2), [phased]).findings == ()


def test_an_amendment_replaces_its_original_and_a_cancellation_withdraws_it() -> None:
    original = zapad()
    moved = {"type": "Polygon", "coordinates": [[[19.0, 56.5], [21.0, 56.5], [21.0, 57.5], [19.0, 57.5], [19.0, 56.5]]]}
    amended = zapad(designation="ZAPAD-2017/A1", amends="ZAPAD-2017", area=moved, notified="2017-07-20T00:00:00Z")
    assert [n.designation for n in effective([original, amended])] == ["ZAPAD-2017/A1"]
    assert run(group("RU", "s", 57.0, 20.0, 4, 2), [original, amended]).findings == ()
    cancelled = zapad(
        designation="ZAPAD-2017/C", amends="ZAPAD-2017/A1", cancelled=True, notified="2017-08-01T00:00:00Z"
    )
    assert effective([original, amended, cancelled]) == []


def test_with_four_weeks_of_history_the_baseline_replaces_the_floor() -> None:
    history = []
    for day in range(29):
        history += group("RU", "base", 59.0, 24.0, 6, 2, t0=T0 - (29 - day) * 86_400.0)
    for day in range(29):
        history += group("RU", "base", 59.0, 24.0, 6, 22, t0=T0 - (29 - day) * 86_400.0 + 2 * HOUR)
    usual = group("RU", "base", 59.0, 24.0, 6, 2)
    larger = group("RU", "surge", 59.0, 24.0, 8, 2)
    result = run(history + usual, [])
    assert result.baselines == {"RU": 7}
    assert result.findings == ()
    [finding] = run(history + larger, []).findings
    assert finding.most_at_once == 8
    assert "above the 28-day baseline" in finding.basis


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.floats(0.25, 3.0), st.floats(0.01, 0.5))
def test_a_finding_appears_exactly_when_the_floor_is_met(count: int, hours: float, spacing: float) -> None:
    rows = group("RU", "p", 57.0, 20.0, count, hours, spacing_deg=spacing)
    bins = int(hours * 4)
    found = run(rows, [], settings=CompareSettings()).findings
    # the platforms form a line: each needs 3 others within 100 km (chord on the sphere) to be a core
    core = any(
        sum(1 for j in range(count) if abs(j - k) * spacing * 111_195.0 <= 100_000.0 - 1.0) >= 4 for k in range(count)
    )
    borderline = any(abs(abs(j) * spacing * 111_195.0 - 100_000.0) < 200.0 for j in range(count))
    if not borderline:
        assert bool(found) is (core and (bins - 1) * 900.0 >= 3600.0)


def test_the_activity_summary_counts_platforms_by_domain_hours_sorties_and_most_at_once() -> None:
    from riskline.transparency.compare import summarize

    rows = group("RU", "ship", 57.0, 20.0, 3, 2) + group("RU", "jet", 57.5, 21.0, 2, 1, air=True)
    rows += group("RU", "jet", 57.5, 21.0, 2, 1, air=True, t0=T0 + 4 * HOUR)
    [day] = summarize(ObservedActivity.from_rows(rows), start=T0, end=T0 + 86_400.0)
    assert (day.party, day.air_platforms, day.sea_platforms, day.sorties, day.most_at_once) == ("RU", 2, 3, 4, 5)
    assert day.platform_hours == 3 * 2 + 2 * 1 + 2 * 1
    assert (day.south, day.north, day.west, day.east) == (57.0, 57.6, 20.0, 21.0)
    hourly = summarize(ObservedActivity.from_rows(rows), start=T0, end=T0 + 86_400.0, period_s=HOUR)
    assert [(s.start - T0, s.most_at_once, s.sorties) for s in hourly] == [(0.0, 5, 2), (HOUR, 3, 0), (4 * HOUR, 2, 2)]
