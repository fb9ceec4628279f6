"""``riskline notify`` and ``riskline transparency`` through the real command line, in process, on the exercise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskline.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def exercise(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exercise")
    result = runner.invoke(app, ["scenario", "exercise", "-o", str(out)])
    assert result.exit_code == 0, result.output
    watched = runner.invoke(app, ["watch", str(out / "exercise_positions.csv"), "--db", str(out / "watch.db")])
    assert watched.exit_code == 0, watched.output
    return out


def test_notify_check_json_is_the_documented_object(exercise: Path) -> None:
    result = runner.invoke(app, ["notify", "check", str(exercise / "exercise_notification.json"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == ["obligations", "breaches", "warnings"]
    assert [(w["kind"], w["count"], w["declared"], w["threshold"]) for w in report["warnings"]] == [
        ("threshold_hugging", "troops", 8600, 9000)
    ]


def test_notify_check_exits_1_on_a_breach_and_the_margin_is_an_option(exercise: Path, tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads((exercise / "exercise_notification.json").read_text(encoding="utf-8"))
    data.update(troops=13500, notified=data["start"])
    late = tmp_path / "late.json"
    late.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["notify", "check", str(late), "--json", "--margin", "0.01"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [b["kind"] for b in report["breaches"]] == ["late_notification"]
    assert [o["kind"] for o in report["obligations"]] == [
        "prior_notification", "annual_calendar", "observation", "constraint"
    ]
    assert report["warnings"] == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"troops": -3}, "riskline: error: troops: Input should be greater than or equal to 0\n"),
        ({"end": "2026-03-09T00:00:00Z"}, "riskline: error: end: 2026-03-09T00:00:00Z is not after the start "
                                          "2026-03-10T00:00:00Z\n"),
    ],
)
def test_bad_notifications_are_one_line_errors(exercise: Path, tmp_path: Path, change: dict[str, Any],
                                                message: str) -> None:
    data = json.loads((exercise / "exercise_notification.json").read_text(encoding="utf-8"))
    data.update(change)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["notify", "check", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == message


def test_a_navarea_text_that_does_not_parse_names_file_line_and_column(tmp_path: Path) -> None:
    text = tmp_path / "warning.txt"
    text.write_text("NAVAREA I 58/26\nSOUTHERN BALTIC.\nGUNNERY EXERCISES\nWITHIN 10 MILES OF 55-00.0N 018-4X.0E.\n",
                    encoding="utf-8")
    result = runner.invoke(app, ["notify", "hazard", str(text)])
    assert result.exit_code == 2
    assert result.stderr == f"riskline: error: {text}: line 4, column 20: malformed position '55-00.0N': expected " \
                            "DD-MM.mN DDD-MM.mE\n"


def test_notify_hazard_rewrites_the_warning_and_prints_the_notice_json(exercise: Path) -> None:
    result = runner.invoke(app, ["notify", "hazard", str(exercise / "exercise_navarea.txt"), "--json"])
    assert result.exit_code == 0, result.output
    notice = json.loads(result.stdout)
    assert (notice["navwarn"], notice["nature"], len(notice["area"]["coordinates"][0])) == (
        "NAVAREA I 58/26", "GUNNERY EXERCISES", 65
    )


def test_compare_json_is_one_object_per_finding_with_the_contract_keys(exercise: Path) -> None:
    result = runner.invoke(app, [
        "transparency", "compare", "--db", str(exercise / "watch.db"), "--notifications",
        str(exercise / "exercise_notification.json"), "--json", "--evidence", str(exercise / "evidence"),
    ])
    assert result.exit_code == 0, result.output
    findings = [json.loads(line) for line in result.stdout.splitlines()]
    assert findings == [{
        "kind": "undeclared_activity", "party": "RU", "start": "2026-03-10T06:00:00Z", "end": "2026-03-10T09:15:00Z",
        "lat": 57.35561, "lon": 19.78281, "platforms": 5, "platform_hours": 13.75, "declared": None,
    }]
    written = sorted(p.name for p in (exercise / "evidence").iterdir())
    assert len(written) == 2
    assert written[0].endswith(".json")
    assert written[1].endswith(".png")


def test_compare_without_the_notification_finds_both_groups_and_says_what_tracks_cannot_show(exercise: Path) -> None:
    result = runner.invoke(app, ["transparency", "compare", "--db", str(exercise / "watch.db")])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("undeclared_activity") == 2
    assert "Tracks cannot show troops, tanks or artillery" in result.stdout


def test_compare_window_errors_are_one_line(exercise: Path) -> None:
    result = runner.invoke(app, ["transparency", "compare", "--db", str(exercise / "watch.db"), "--from",
                                 "2026-03-11T00:00Z", "--to", "2026-03-10T00:00Z"])
    assert result.exit_code == 2
    assert result.stderr == "riskline: error: --to: 2026-03-10T00:00:00Z is not after --from 2026-03-11T00:00:00Z\n"
