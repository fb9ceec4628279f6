"""Observed military activity from the watch's tracks: one sample per military platform per time bin.

``ActivityLog`` is fed what the watch sees (each observation with the platform's identity) and keeps, for every
military platform, its last position in each bin of ``bin_s`` seconds (default 15 min). ``ObservedActivity`` is
the result as columns (NumPy arrays, one row per platform and bin), what a run stores and what ``compare`` reads.
Civil traffic is not kept: the Vienna Document concerns military activities.

What tracks cannot show, and every finding says so: troops, tanks and artillery (no transponders); naval
vessels and military aircraft with AIS or ADS-B off (warships are exempt from SOLAS V carriage; about 43 % of
military aircraft seen by OpenSky in 2017 transmitted ADS-B: REGIMES.md §7). Counts are lower bounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.tracks.identity import PlatformIdentity

BIN_S = 900.0  # [s] default time bin of observed activity
CANNOT_SHOW = (
    "Tracks cannot show troops, tanks, armoured vehicles or artillery, nor ships and aircraft with AIS or ADS-B "
    "off (warships are exempt from SOLAS V carriage; about 43 % of military aircraft transmitted ADS-B in 2017): "
    "observed counts are lower bounds."
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ObservedActivity:
    """Military platforms by bin: row k is platform ``platform_ids[platform[k]]`` of party ``parties[party[k]]``
    at its last position in the bin that starts at ``t[k]``."""

    t: FloatArray  # [s] start of the bin
    platform: IntArray
    party: IntArray
    air: BoolArray
    lat: FloatArray  # [deg]
    lon: FloatArray  # [deg]
    platform_ids: tuple[str, ...]
    parties: tuple[str, ...]
    bin_s: float  # [s]

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[float, str, str, bool, float, float]],
        *,
        bin_s: float = BIN_S,
    ) -> ObservedActivity:
        """From ``(t, platform_id, party, is_air, lat, lon)`` rows; ``t`` is floored to its bin."""
        items = list(rows)
        platform_ids = tuple(sorted({row[1] for row in items}))
        parties = tuple(sorted({row[2] for row in items}))
        pid_index = {name: k for k, name in enumerate(platform_ids)}
        party_index = {name: k for k, name in enumerate(parties)}
        t = np.floor(np.array([row[0] for row in items], dtype=np.float64) / bin_s) * bin_s
        return cls(
            t=t,
            platform=np.array([pid_index[row[1]] for row in items], dtype=np.int64),
            party=np.array([party_index[row[2]] for row in items], dtype=np.int64),
            air=np.array([row[3] for row in items], dtype=np.bool_),
            lat=np.array([row[4] for row in items], dtype=np.float64),
            lon=np.array([row[5] for row in items], dtype=np.float64),
            platform_ids=platform_ids,
            parties=parties,
            bin_s=bin_s,
        ).deduplicated()

    def deduplicated(self) -> ObservedActivity:
        """One row per (platform, bin): the last one given."""
        if len(self) == 0:
            return self
        key = self.platform * (1 << 32) + np.round(self.t / self.bin_s).astype(np.int64)
        _, last = np.unique(key[::-1], return_index=True)
        keep = np.sort(len(key) - 1 - last)
        return self.take(keep)

    def take(self, rows: npt.NDArray[np.int64] | BoolArray) -> ObservedActivity:
        return ObservedActivity(
            self.t[rows],
            self.platform[rows],
            self.party[rows],
            self.air[rows],
            self.lat[rows],
            self.lon[rows],
            self.platform_ids,
            self.parties,
            self.bin_s,
        )

    def rows(self) -> list[tuple[float, str, str, bool, float, float]]:
        return [
            (float(t), self.platform_ids[p], self.parties[q], bool(a), float(y), float(x))
            for t, p, q, a, y, x in zip(self.t, self.platform, self.party, self.air, self.lat, self.lon, strict=True)
        ]

    def window(self, start: float, end: float) -> ObservedActivity:
        return self.take((self.t >= start) & (self.t < end))

    def party_code(self, party: str) -> int:
        """Index of ``party`` in ``parties``; -1 if it was never observed."""
        return self.parties.index(party) if party in self.parties else -1

    @staticmethod
    def concatenate(parts: Sequence[ObservedActivity], *, bin_s: float = BIN_S) -> ObservedActivity:
        rows = [row for part in parts for row in part.rows()]
        return ObservedActivity.from_rows(rows, bin_s=parts[0].bin_s if parts else bin_s)


class ActivityLog:
    """Collects observed military activity as the watch runs: ``add(observation, identity)`` per report."""

    def __init__(self, bin_s: float = BIN_S) -> None:
        if not (math.isfinite(bin_s) and bin_s > 0):
            raise ValueError(f"bin_s: {bin_s} is not a positive number of seconds")
        self.bin_s = bin_s
        self._last: dict[tuple[str, int], tuple[float, str, str, bool, float, float]] = {}

    def add(self, observation: Observation, identity: PlatformIdentity) -> None:
        if identity.kind is not Kind.MILITARY or observation.lat is None or observation.lon is None:
            return
        if not (math.isfinite(observation.t) and math.isfinite(observation.lat) and math.isfinite(observation.lon)):
            return
        key = (observation.platform_id, int(observation.t // self.bin_s))
        self._last[key] = (
            observation.t,
            observation.platform_id,
            identity.party,
            identity.domain is Domain.AIR,
            observation.lat,
            observation.lon,
        )

    def add_batch(self, batch: ObservationBatch, identities: Sequence[PlatformIdentity]) -> None:
        """``add`` for every row of a batch (rows in arrival order; the last row of a platform in a bin wins)."""
        military = [k for k, identity in enumerate(identities) if identity.kind is Kind.MILITARY]
        if not military:
            return
        rows = np.asarray(military, dtype=np.int64)
        t, lat, lon = batch.t[rows], batch.lat[rows], batch.lon[rows]
        usable = np.isfinite(t) & np.isfinite(lat) & np.isfinite(lon)
        bins = np.floor(t / self.bin_s).astype(np.int64)
        for k in np.flatnonzero(usable):
            row = int(rows[k])
            identity = identities[row]
            pid = batch.platform_id[row]
            self._last[(pid, int(bins[k]))] = (
                float(t[k]), pid, identity.party, identity.domain is Domain.AIR, float(lat[k]), float(lon[k]),
            )

    def __len__(self) -> int:
        return len(self._last)

    def activity(self) -> ObservedActivity:
        return ObservedActivity.from_rows(self._last.values(), bin_s=self.bin_s)
