"""The picture of an incident: both tracks around the closest approach, and their separation over time.

Returns PNG bytes (the caller decides where they go: a file, an attachment of an ``incident_report``).
Uses matplotlib's object API with the Agg canvas: no display, no global pyplot state, safe in a server thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from riskline.detection.rules import RULES
from riskline.incidents.model import Encounter
from riskline.timeutil import to_iso


def render_incident_png(encounter: Encounter, *, threshold_m: float | None = None) -> bytes:
    """Two panels: tracks in a local east/north frame (km) centred on the closest approach; separation (m)."""
    figure = Figure(figsize=(12, 5.2), dpi=100)
    FigureCanvasAgg(figure)
    track_axes, separation_axes = figure.subplots(1, 2)
    _draw_tracks(track_axes, encounter)
    _draw_separation(separation_axes, encounter, threshold_m)
    title = (
        f"{encounter.rule} ({encounter.severity}) — {encounter.a} [{encounter.party_a}] vs "
        f"{encounter.b} [{encounter.party_b}]\nclosest {encounter.min_distance_m:.1f} m at "
        f"{to_iso(encounter.t_cpa)}{'' if encounter.occurred else ' (predicted, did not occur)'}"
    )
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _local_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    radius = 6_371.0088  # [km]
    east = np.radians(lon - lon0) * np.cos(np.radians(lat0)) * radius
    north = np.radians(lat - lat0) * radius
    return east, north


def _draw_tracks(axes: Axes, encounter: Encounter) -> None:
    evidence = encounter.evidence
    axes.set_title("tracks around the closest approach (km, north up)", fontsize=9)
    axes.set_xlabel("east [km]")
    axes.set_ylabel("north [km]")
    axes.set_aspect("equal", adjustable="datalim")
    axes.grid(True, alpha=0.3)
    if evidence is None:
        axes.text(0.5, 0.5, "no track evidence", transform=axes.transAxes, ha="center")
        return
    segments = [(evidence.segment_a, "tab:red"), (evidence.segment_b, "tab:blue")]
    for segment, colour in segments:
        if segment is None or len(segment) == 0:
            continue
        east, north = _local_km(np.asarray(segment.lat), np.asarray(segment.lon), encounter.lat, encounter.lon)
        axes.plot(east, north, "-", color=colour, lw=1.4, label=segment.platform_id)
        axes.plot(east[-1], north[-1], ">", color=colour)
        times = np.asarray(segment.t)
        k = int(np.argmin(np.abs(times - encounter.t_cpa)))
        axes.plot(east[k], north[k], "o", color=colour, ms=6)
    axes.plot(0, 0, "kx", ms=9, label="closest approach")
    axes.legend(fontsize=8, loc="best")


def _draw_separation(axes: Axes, encounter: Encounter, threshold_m: float | None) -> None:
    evidence = encounter.evidence
    axes.set_title("separation over time", fontsize=9)
    axes.set_xlabel("time from closest approach [s]")
    axes.set_ylabel("separation [m]")
    axes.grid(True, alpha=0.3)
    if evidence is None or not evidence.separation_t:
        axes.text(0.5, 0.5, "no separation series", transform=axes.transAxes, ha="center")
        return
    times = np.asarray(evidence.separation_t) - encounter.t_cpa
    axes.plot(times, evidence.separation_m, "-", color="k", lw=1.2)
    axes.axvline(0, color="grey", lw=0.8, ls=":")
    if threshold_m is not None:
        axes.axhline(threshold_m, color="tab:orange", lw=1, ls="--", label=f"threshold {threshold_m:g} m")
        axes.legend(fontsize=8)
    if encounter.first_alert is not None:
        axes.axvline(encounter.first_alert - encounter.t_cpa, color="tab:green", lw=1, ls="--")


def rule_threshold_m(encounter: Encounter, run_options: Mapping[str, object]) -> float | None:
    """The rule's distance [m] from the rulebook the run actually used (day/night as judged, for ships)."""
    judged = encounter.details.get("threshold_m")
    if isinstance(judged, int | float):
        return float(judged)
    rulebook = run_options.get("rulebook")
    rules = rulebook.get("rules") if isinstance(rulebook, dict) else None
    if not isinstance(rules, dict):
        return None
    spec = RULES.get(encounter.rule)  # each rule says which of its parameters is the distance to draw
    return None if spec is None else spec.plot_threshold(rules)
