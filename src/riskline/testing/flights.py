"""Tiny exact encounters as observation streams, for tests that need real kinematics and nothing else."""

from __future__ import annotations

from pyproj import Geod

from riskline.ingest.observation import Domain, Kind, Observation

_GEOD = Geod(ellps="WGS84")
T0 = 1_460_000_000.0  # [s] 2016-04-07T03:33:20Z


def straight_flight(
    platform_id: str,
    party: str,
    lat: float,
    lon: float,
    course: float,
    speed: float,
    alt: float,
    seconds: int,
    *,
    t0: float = T0,
    step: int = 1,
) -> list[Observation]:
    """One fix every ``step`` s along the geodesic from (lat, lon) [deg] at ``course`` [deg] and ``speed`` [m/s]."""
    fixes = []
    for k in range(0, seconds, step):
        lon_k, lat_k, _ = _GEOD.fwd(lon, lat, course, speed * k)
        fixes.append(
            Observation(
                t=t0 + k,
                platform_id=platform_id,
                source="table",
                lat=lat_k,
                lon=lon_k,
                alt_m=alt,
                sog_mps=speed,
                cog_deg=course,
                vrate_mps=0.0,
                domain=Domain.AIR,
                party=party,
                kind=Kind.MILITARY,
            )
        )
    return fixes


def head_on_pass(offset_m: float = 100.0, seconds: int = 400) -> list[Observation]:
    """A Russian and a US aircraft meet head-on at 9,000 m, ``offset_m`` [m] apart, 200 s after ``T0``.

    They fly north and south along meridians (geodesics and rhumb lines at once), so dead reckoning is exact.
    """
    lon_b, lat_b, _ = _GEOD.fwd(19.0, 55.5, 90.0, offset_m)
    lon_b, lat_b, _ = _GEOD.fwd(lon_b, lat_b, 0.0, 80_000)
    a = straight_flight("id:su27", "RU", 55.5, 19.0, 0.0, 200.0, 9000.0, seconds)
    b = straight_flight("id:rc135", "US", lat_b, lon_b, 180.0, 200.0, 9000.0, seconds)
    return sorted(a + b, key=lambda o: o.t)
