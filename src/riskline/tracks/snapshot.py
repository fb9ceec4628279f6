"""The columnar picture the detector works on: every live track at one time, as NumPy arrays.

Each array has one row per track, in the same order. Positions are the last fixes, not yet
dead-reckoned: the detector moves every state to a common time itself (``t_fix`` says from when).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """All live tracks at time ``t``."""

    t: float
    """[s] POSIX time the snapshot was taken for."""
    ids: tuple[str, ...]
    """Platform identifiers, row order (``TrackTable`` sorts them, so equal inputs give equal snapshots)."""
    party: IntArray
    """Index into ``party_names`` per row."""
    party_names: tuple[str, ...]
    """Distinct parties; ``civil`` is a party of its own."""
    is_air: BoolArray
    """True for aircraft, False for ships."""
    is_military: BoolArray
    transponder: BoolArray
    """False for a non-cooperative track (transponder off, seen by radar)."""
    lat: FloatArray
    """[deg] latitude of the last fix."""
    lon: FloatArray
    """[deg] longitude of the last fix."""
    alt: FloatArray
    """[m] altitude above mean sea level of the last fix; 0 for ships; NaN for an aircraft whose altitude has
    not been reported (treat it as unknown: it may be at any altitude)."""
    v_east: FloatArray
    """[m/s] velocity, east component."""
    v_north: FloatArray
    """[m/s] velocity, north component."""
    v_up: FloatArray
    """[m/s] velocity, vertical component (climb positive)."""
    t_fix: FloatArray
    """[s] POSIX time of the last fix."""

    def __len__(self) -> int:
        return len(self.ids)

    @staticmethod
    def empty(t: float) -> Snapshot:
        nothing = np.zeros(0)
        return Snapshot(
            t=t,
            ids=(),
            party=np.zeros(0, dtype=np.int64),
            party_names=(),
            is_air=np.zeros(0, dtype=bool),
            is_military=np.zeros(0, dtype=bool),
            transponder=np.zeros(0, dtype=bool),
            lat=nothing,
            lon=nothing,
            alt=nothing,
            v_east=nothing,
            v_north=nothing,
            v_up=nothing,
            t_fix=nothing,
        )
