"""Unit conversions at the boundary. Everything inside riskline is SI: metres, seconds, metres per second.

Constants are exact by definition (international nautical mile, international foot).
"""

from __future__ import annotations

NAUTICAL_MILE = 1852.0  # [m]
CABLE = 185.2  # [m] one tenth of a nautical mile, as INCSEA texts count it
FOOT = 0.3048  # [m]
YARD = 0.9144  # [m]
KNOT = NAUTICAL_MILE / 3600.0  # [m/s]
FEET_PER_MINUTE = FOOT / 60.0  # [m/s]
EARTH_RADIUS = 6_371_008.8  # [m] IUGG mean radius, for local tangent-plane approximations


def knots_to_mps(knots: float) -> float:
    return knots * KNOT


def mps_to_knots(mps: float) -> float:
    return mps / KNOT


def feet_to_m(feet: float) -> float:
    return feet * FOOT


def m_to_feet(metres: float) -> float:
    return metres / FOOT


def fpm_to_mps(feet_per_minute: float) -> float:
    return feet_per_minute * FEET_PER_MINUTE


def nm_to_m(nautical_miles: float) -> float:
    return nautical_miles * NAUTICAL_MILE
