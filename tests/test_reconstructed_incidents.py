"""Real encounters of 2014–2023, reconstructed from their reported geometry: the watch flags each one with the
right rule and severity band (shared/domain/incidents.csv; expectations pinned in tests/testing)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from riskline.detection.rulebook import load_rulebook
from riskline.incidents.model import Encounter
from riskline.scenarios.incidents import IncidentRow, load_incidents, reconstruct
from riskline.watch import Watch

SHARED = Path(os.environ.get("RISKLINE_SHARED") or Path(__file__).resolve().parents[2] / "shared")
CSV = SHARED / "domain" / "incidents.csv"
ROWS = load_incidents(CSV) if CSV.exists() else []


def watch_reconstruction(row: IncidentRow) -> tuple[list[Encounter], object]:
    reconstruction = reconstruct(row)
    assert reconstruction.scenario is not None
    watch = Watch(load_rulebook())
    encounters = [e for o in reconstruction.scenario.observations for e in watch.feed(o)] + watch.finish()
    return encounters, reconstruction


def test_the_reference_file_is_there_and_complete(domain_dir: Path) -> None:
    assert len(load_incidents(domain_dir / "incidents.csv")) == 16
    assert len([r for r in ROWS if reconstruct(r).scenario is not None]) == 12


@pytest.mark.parametrize("row", [r for r in ROWS if reconstruct(r).scenario is not None], ids=lambda r: r.date)
def test_each_reconstructed_incident_is_flagged_with_its_rule_and_band(row: IncidentRow) -> None:
    encounters, reconstruction = watch_reconstruction(row)
    occurred = {(e.rule, e.severity) for e in encounters if e.occurred}
    expected = {(x.rule, x.severity) for x in reconstruction.expected}  # type: ignore[attr-defined]
    assert occurred == expected
    for encounter in encounters:
        assert {encounter.party_a, encounter.party_b} == {row.party_a, row.party_b}


@pytest.mark.parametrize(
    ("date", "rule", "distance"),
    [("2016-04-29", "air_intercept", 8.0), ("2017-06-19", "air_intercept", 1.5), ("2023-03-14", "air_intercept", 0.0),
     ("2014-03-03", "air_proximity", 90.0)],
)
def test_the_closest_approach_is_the_reported_one(date: str, rule: str, distance: float) -> None:
    [row] = [r for r in ROWS if r.date == date]
    encounters, _ = watch_reconstruction(row)
    closest = min(e.min_distance_m for e in encounters if e.rule == rule and e.occurred)
    assert closest == pytest.approx(distance, abs=0.02 + distance * 1e-3)


def test_intercepts_are_predicted_about_two_minutes_ahead() -> None:
    [row] = [r for r in ROWS if r.date == "2017-06-19"]
    encounters, _ = watch_reconstruction(row)
    intercept = next(e for e in encounters if e.rule == "air_intercept")
    assert intercept.lead_time_s is not None
    assert 100 <= intercept.lead_time_s <= 125


def test_the_donald_cook_passes_are_counted() -> None:
    [row] = [r for r in ROWS if r.date == "2016-04-12"]
    encounters, _ = watch_reconstruction(row)
    repeated = [e for e in encounters if e.rule == "repeated_low_passes"]
    assert len(repeated) == 1
    assert repeated[0].details["passes"] == row.passes
