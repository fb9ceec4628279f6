"""Hazard notices that mean something to the watch: a NAVAREA warning or NOTAM made into a ``hazard_notice`` body,
and the notice's area as a geometry with its window and vertical limits (INCSEA art. VI; REGIMES.md §1, §7).

Circles (``WITHIN 20 MILES OF``, the NOTAM Q-line's centre and radius) become 64-sided geodesic polygons on the
WGS-84 ellipsoid (``pyproj.Geod``): every corner lies exactly at the radius, so the polygon lies inside the circle
and misses at most ``r·(1 − cos(π/64))`` ≈ 0.12 % of the radius between corners.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from riskline.transparency.navarea import NavWarning
from riskline.transparency.notam import Notam
from riskline.transparency.regime import Regime

GEOD = Geod(ellps="WGS84")
CIRCLE_CORNERS = 64


@dataclass(frozen=True, slots=True)
class HazardArea:
    """An announced area: where, when, how high, and who announced it."""

    reference: str
    """The notice's message id, or its NAVAREA/NOTAM identifier."""
    party: str
    nature: str
    start: float  # [s]
    end: float  # [s]
    lower_m: float | None  # [m] None: the surface
    upper_m: float | None  # [m] None: unlimited
    area: BaseGeometry
    """Polygon in (lon, lat) degrees."""

    def active(self, t: float) -> bool:
        return self.start <= t <= self.end


@dataclass(frozen=True, slots=True)
class LeadTime:
    days: float
    verdict: str
    """``in_time`` (3–5 days), ``short`` (under 3 days: a reason is due) or ``early`` (over 5 days)."""


def circle_ring(lat: float, lon: float, radius_m: float, corners: int = CIRCLE_CORNERS) -> list[list[float]]:
    """A closed GeoJSON ring [[lon, lat], …] of ``corners`` points at ``radius_m`` [m] from the centre."""
    azimuths = np.linspace(0.0, 360.0, corners, endpoint=False)
    lons, lats, _ = GEOD.fwd(np.full(corners, lon), np.full(corners, lat), azimuths, np.full(corners, radius_m))
    ring = [[float(x), float(y)] for x, y in zip(lons, lats, strict=True)]
    ring.reverse()  # counter-clockwise outer ring (RFC 7946 §3.1.6)
    return [*ring, ring[0]]


def notice_from_navarea(warning: NavWarning, text: str) -> dict[str, Any]:
    """A ``hazard_notice`` body from a NAVAREA/coastal warning (start/end from its window, else its cancel time)."""
    if warning.centre is not None and warning.radius_m is not None:
        ring = circle_ring(warning.centre.lat, warning.centre.lon, warning.radius_m)
    else:
        corners = [[p.lon, p.lat] for p in warning.polygon]
        ring = [*corners, corners[0]] if corners else []
        if ring and shapely.Polygon(ring).exterior.is_ccw is False:
            ring.reverse()
    start = warning.start
    end = warning.end if warning.end is not None else warning.cancel_at
    return {
        "area": {"type": "Polygon", "coordinates": [ring]},
        "start": start,
        "end": end,
        "nature": warning.subject,
        "navwarn": warning.identifier,
        "text": text,
    }


def notice_from_notam(notam: Notam, text: str) -> dict[str, Any]:
    """A ``hazard_notice`` body from a NOTAM: the Q-line's circle and limits, B) and C) as the window."""
    ring = circle_ring(notam.q.lat, notam.q.lon, max(notam.q.radius_m, 1.0))
    return {
        "area": {"type": "Polygon", "coordinates": [ring]},
        "start": notam.start,
        "end": notam.end,
        "nature": f"{notam.q.code}: {notam.text}",
        "notam": notam.identifier,
        "lower_m": notam.lower_m,
        "upper_m": notam.upper_m,
        "text": text,
    }


def hazard_area(reference: str, party: str, body: Mapping[str, Any]) -> HazardArea:
    """The area of a (validated) ``hazard_notice`` body."""
    rings = [[(p[0], p[1]) for p in ring] for ring in body["area"]["coordinates"]]
    return HazardArea(
        reference=reference,
        party=party,
        nature=str(body["nature"]),
        start=float(body["start"]),
        end=float(body["end"]),
        lower_m=body.get("lower_m"),
        upper_m=body.get("upper_m"),
        area=shapely.Polygon(rings[0], rings[1:]),
    )


def lead_time(created: float, start: float, regime: Regime) -> LeadTime:
    """INCSEA art. VI: the notice's lead time against the regime's 3–5 days."""
    lead = start - created  # [s]
    if lead < regime.hazard_min_lead_s:
        verdict = "short"
    elif lead > regime.hazard_max_lead_s:
        verdict = "early"
    else:
        verdict = "in_time"
    return LeadTime(round(lead / 86_400.0, 2), verdict)
