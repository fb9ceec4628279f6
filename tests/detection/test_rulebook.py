"""The rulebook: the default is REGIMES.md §6, every rule cites a source, overrides are validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskline.detection.errors import RulebookError
from riskline.detection.rulebook import RULE_NAMES, default_rulebook_text, load_rulebook, parse_override


def test_default_rulebook_holds_the_regimes_numbers() -> None:
    rb = load_rulebook()
    assert (rb.air_proximity.horizontal_m, rb.air_proximity.vertical_m) == (926.0, 91.0)
    assert [(b.severity, b.max_m) for b in rb.air_intercept.bands] == [
        ("critical", 1.5), ("high", 8.0), ("medium", 15.0), ("low", 30.0)
    ]
    assert (rb.low_pass.horizontal_m, rb.low_pass.altitude_m) == (914.0, 152.0)
    assert (rb.repeated_low_passes.count, rb.repeated_low_passes.window_s) == (3, 1800.0)
    assert (rb.ship_contact_range.day_m, rb.ship_contact_range.night_m) == (3704.0, 5556.0)
    assert (rb.air_proximity.lookahead_s, rb.ship_contact_range.lookahead_s) == (120.0, 1800.0)
    assert (rb.non_cooperative_aircraft.horizontal_m, rb.non_cooperative_aircraft.vertical_m) == (926.0, 91.0)


def test_every_rule_cites_a_source_with_a_mark() -> None:
    rb = load_rulebook()
    for name in RULE_NAMES:
        citation = rb.citation(name)
        assert citation.source
        assert citation.mark in {"V", "S", "U"}
    assert rb.ship_contact_range.citation.mark == "V"
    assert "INCSEA" in rb.ship_contact_range.citation.source


def test_an_override_changes_one_parameter_and_is_recorded() -> None:
    rb = load_rulebook(overrides=["air_proximity.horizontal_m=18520"])
    assert rb.air_proximity.horizontal_m == 18520.0
    assert rb.air_proximity.vertical_m == 91.0
    assert rb.overrides == ("air_proximity.horizontal_m=18520",)
    assert rb.as_dict()["rules"]["air_proximity"]["horizontal_m"] == 18520.0


def test_watch_settings_can_be_overridden() -> None:
    assert load_rulebook(overrides=["watch.tick_s=5"]).watch.tick_s == 5.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("x", "--set 'x': expected RULE.PARAM=VALUE, e.g. air_proximity.horizontal_m=18520"),
        ("nope.x=1", "--set 'nope.x=1': unknown rule 'nope'; rules are: air_proximity, air_intercept, low_pass, "
         "repeated_low_passes, ship_contact_range, non_cooperative_aircraft, territorial_entry, hazard_area_entry"),
        ("air_proximity.foo=1", "--set 'air_proximity.foo=1': rule 'air_proximity' has no parameter 'foo'; it has: "
         "enabled, horizontal_m, lookahead_s, severity, vertical_m"),
        ("air_proximity.horizontal_m=-1", "default: rules.air_proximity.horizontal_m: Input should be greater than 0"),
        ("air_proximity.severity=grave", "default: rules.air_proximity.severity: Input should be 'critical', 'high', "
         "'medium' or 'low'"),
        ("air_intercept.bands=[]", "default: rules.air_intercept.bands: List should have at least 1 item after "
         "validation, not 0"),
    ],
)
def test_bad_overrides_are_refused_with_one_line(override: str, message: str) -> None:
    with pytest.raises(RulebookError) as caught:
        load_rulebook(overrides=[override])
    assert str(caught.value) == message


def test_override_values_are_read_as_json_or_text() -> None:
    assert parse_override("low_pass.altitude_m=200") == ("low_pass", "altitude_m", 200)
    assert parse_override("air_proximity.severity=low") == ("air_proximity", "severity", "low")
    assert parse_override("air_proximity.enabled=false") == ("air_proximity", "enabled", False)


def test_a_rulebook_file_without_a_source_is_refused(tmp_path: Path) -> None:
    text = default_rulebook_text().replace('mark = "V"\n', "", 1)
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulebookError) as caught:
        load_rulebook(path)
    assert str(caught.value) == f"{path}: rules.ship_contact_range.mark: Field required"


def test_unknown_keys_and_bad_toml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(default_rulebook_text() + "\n[rules.air_proximity_typo]\nx = 1\n")
    with pytest.raises(RulebookError, match=r"rules\.air_proximity_typo: Extra inputs are not permitted"):
        load_rulebook(path)
    path.write_text("[rulebook\n")
    with pytest.raises(RulebookError, match="not valid TOML"):
        load_rulebook(path)
    with pytest.raises(RulebookError, match="cannot read rulebook"):
        load_rulebook(tmp_path / "missing.toml")


def test_intercept_bands_must_increase(tmp_path: Path) -> None:
    with pytest.raises(RulebookError, match="strictly increasing"):
        load_rulebook(overrides=['air_intercept.bands=[{"severity":"low","max_m":30},{"severity":"high","max_m":8}]'])


def test_intercept_severity_bands_are_inclusive() -> None:
    intercept = load_rulebook().air_intercept
    assert [intercept.severity_for(d) for d in (0.0, 1.5, 1.6, 8.0, 15.0, 30.0, 30.01)] == [
        "critical", "critical", "high", "high", "medium", "low", None
    ]
