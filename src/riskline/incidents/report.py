"""The public JSON form of an encounter: what ``riskline watch --json`` prints, one object per line.

Keys and their order are part of the interface (issue: the watch). Times are ISO 8601 UTC; ``min_vertical_m``
is null between ships; ``first_alert`` is null when the breach was never predicted; ``occurred`` is false for
a predicted alert that did not happen (``start``/``end`` are then the predicted ones).
"""

from __future__ import annotations

from typing import Any

from riskline.incidents.model import Encounter
from riskline.timeutil import to_iso

JSON_KEYS: tuple[str, ...] = (
    "rule",
    "severity",
    "a",
    "b",
    "party_a",
    "party_b",
    "occurred",
    "start",
    "end",
    "t_cpa",
    "min_distance_m",
    "min_horizontal_m",
    "min_vertical_m",
    "first_alert",
    "lat",
    "lon",
)


def _metres(value: float) -> float:
    return round(value, 2)


def encounter_json(encounter: Encounter) -> dict[str, Any]:
    return {
        "rule": encounter.rule,
        "severity": encounter.severity,
        "a": encounter.a,
        "b": encounter.b,
        "party_a": encounter.party_a,
        "party_b": encounter.party_b,
        "occurred": encounter.occurred,
        "start": to_iso(encounter.start),
        "end": to_iso(encounter.end),
        "t_cpa": to_iso(encounter.t_cpa),
        "min_distance_m": _metres(encounter.min_distance_m),
        "min_horizontal_m": _metres(encounter.min_horizontal_m),
        "min_vertical_m": None if encounter.min_vertical_m is None else _metres(encounter.min_vertical_m),
        "first_alert": None if encounter.first_alert is None else to_iso(encounter.first_alert),
        "lat": round(encounter.lat, 6),
        "lon": round(encounter.lon, 6),
    }
