"""The picture of a transparency finding: the tracks against the declared areas, and the counts over time.

Returns PNG bytes (the caller decides where they go: a file, an attachment of a ``request_for_clarification``).
matplotlib's object API with the Agg canvas, as ``incidents/plot.py``: no display, no global pyplot state.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from shapely.geometry.base import BaseGeometry

from riskline.timeutil import to_iso
from riskline.transparency.activity import ActivityNotification
from riskline.transparency.compare import Finding
from riskline.transparency.observed import ObservedActivity


def render_finding_png(
    finding: Finding, observed: ObservedActivity, notifications: Sequence[ActivityNotification]
) -> bytes:
    """Two panels: the finding's platforms' samples (lon/lat, true shape at their latitude) over the declared
    areas of the party; the platforms at once per bin, air and sea."""
    figure = Figure(figsize=(12, 5.6), dpi=100)
    FigureCanvasAgg(figure)
    map_axes, count_axes = figure.subplots(1, 2)
    rows = observed.window(finding.start, finding.end)
    wanted = {observed.platform_ids.index(p) for p in finding.platform_ids if p in observed.platform_ids}
    rows = rows.take(np.isin(rows.platform, sorted(wanted)))
    _draw_map(map_axes, finding, rows, [n for n in notifications if n.party == finding.party])
    _draw_counts(count_axes, finding, rows)
    declared = f"held against {finding.declared}" if finding.declared else "no declaration covers it"
    figure.suptitle(
        f"{finding.kind} — {finding.party}, {to_iso(finding.start)} to {to_iso(finding.end)} ({declared})\n"
        f"{finding.platforms} platforms, {finding.platform_hours:.1f} platform-hours, most at once "
        f"{finding.most_at_once}; {finding.basis}",
        fontsize=9,
    )
    figure.text(0.01, 0.01, "\n".join(textwrap.wrap(finding.cannot_show, 190)), fontsize=7, color="dimgray")
    figure.tight_layout(rect=(0, 0.05, 1, 0.93))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _draw_map(axes: Axes, finding: Finding, rows: ObservedActivity, notifications: list[ActivityNotification]) -> None:
    axes.set_title("tracks (samples per 15 min) against the declared areas", fontsize=9)
    axes.set_xlabel("longitude [deg]")
    axes.set_ylabel("latitude [deg]")
    axes.set_aspect(1.0 / max(math.cos(math.radians(finding.lat)), 0.1), adjustable="datalim")
    axes.grid(True, alpha=0.3)
    for notification in notifications:
        if notification.end < finding.start or notification.start > finding.end:
            continue
        areas = [p.area for p in notification.phases] or [notification.area]
        for area in areas:
            _fill(axes, area, notification.designation)
    for platform in np.unique(rows.platform):
        mine = rows.take(rows.platform == platform)
        order = np.argsort(mine.t)
        style = "-" if bool(mine.air[0]) else "-."
        colour = "tab:red" if bool(mine.air[0]) else "tab:blue"
        axes.plot(mine.lon[order], mine.lat[order], style, color=colour, lw=1.0, marker=".", ms=3)
    axes.plot(finding.lon, finding.lat, "kx", ms=10, label="centre of the activity")
    axes.plot([], [], "-", color="tab:red", label="aircraft")
    axes.plot([], [], "-.", color="tab:blue", label="ships")
    axes.legend(fontsize=8, loc="best")


def _fill(axes: Axes, area: BaseGeometry, label: str) -> None:
    polygons = list(getattr(area, "geoms", [area]))
    for k, polygon in enumerate(polygons):
        x, y = polygon.exterior.xy
        axes.fill(list(x), list(y), color="tab:green", alpha=0.15, label=f"declared: {label}" if k == 0 else None)
        axes.plot(list(x), list(y), color="tab:green", lw=1.0)


def _draw_counts(axes: Axes, finding: Finding, rows: ObservedActivity) -> None:
    axes.set_title("platforms at once", fontsize=9)
    axes.set_xlabel("hours from the start")
    axes.set_ylabel("platforms")
    axes.grid(True, alpha=0.3)
    bins = np.asarray(finding.series_t)
    air = np.array([int(np.sum(rows.air[rows.t == t])) for t in bins])
    sea = np.array([int(np.sum(~rows.air[rows.t == t])) for t in bins])
    hours = (bins - finding.start) / 3600.0
    width = rows.bin_s / 3600.0 * 0.9
    axes.bar(hours, sea, width=width, align="edge", color="tab:blue", label="ships")
    axes.bar(hours, air, width=width, align="edge", bottom=sea, color="tab:red", label="aircraft")
    axes.legend(fontsize=8)
