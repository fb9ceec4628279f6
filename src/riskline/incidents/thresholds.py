"""The distance a rule was judged against, for drawing it beside an incident's separation (plot, dashboard).

The rule's distance comes from the rulebook the run actually used (stored with the run), so an incident found
under ``--set`` overrides is drawn against those; a ship encounter judged by day or by night carries its own
``threshold_m`` in its details.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskline.incidents.model import Encounter

_THRESHOLD_PARAMETER = {
    "air_proximity": ("air_proximity", "horizontal_m"),
    "low_pass": ("low_pass", "horizontal_m"),
    "repeated_low_passes": ("low_pass", "horizontal_m"),
    "ship_contact_range": ("ship_contact_range", "night_m"),
    "non_cooperative_aircraft": ("non_cooperative_aircraft", "horizontal_m"),
}
"""Which parameter of the run's rulebook is the distance to draw for each rule."""


def rule_threshold_m(encounter: Encounter, run_options: Mapping[str, object]) -> float | None:
    """[m] the rule's distance from the rulebook the run used (day/night as judged, for ships); None if unknown."""
    judged = encounter.details.get("threshold_m")
    if isinstance(judged, int | float):
        return float(judged)
    rulebook = run_options.get("rulebook")
    rules = rulebook.get("rules") if isinstance(rulebook, dict) else None
    if not isinstance(rules, dict):
        return None
    if encounter.rule == "air_intercept":
        bands = rules.get("air_intercept", {}).get("bands") or []
        return float(bands[-1]["max_m"]) if bands else None
    rule, parameter = _THRESHOLD_PARAMETER.get(encounter.rule, ("", ""))
    value = rules.get(rule, {}).get(parameter)
    return float(value) if isinstance(value, int | float) else None
