"""Observations as columns: one ``ObservationBatch`` holds many reports as NumPy arrays and lists.

Readers that can read column-wise (positions tables) produce batches directly, and the watch takes a batch in
one call (``Watch.feed_batch``), so no Python object is made per report on that path. Every field of
``Observation`` has its column; "absent" is NaN in a float column and None in an object column. A batch can
always be turned into the equivalent ``Observation`` objects (``observations``) and back (``from_observations``):
the two representations carry exactly the same information.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from riskline.ingest.observation import Domain, Kind, Observation

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _optional(values: FloatArray) -> list[float | None]:
    return [None if value != value else value for value in values.tolist()]


@dataclass(frozen=True, slots=True)
class ObservationBatch:
    """Many observations, one row each, in arrival order. Units as in ``Observation``."""

    source: str
    """The format that produced every row."""
    t: FloatArray
    """[s] POSIX time."""
    platform_id: list[str]
    lat: FloatArray
    """[deg] NaN where the report has no position."""
    lon: FloatArray
    """[deg]"""
    alt_m: FloatArray
    """[m] NaN where absent."""
    sog_mps: FloatArray
    """[m/s] NaN where absent."""
    cog_deg: FloatArray
    """[deg] NaN where absent."""
    vrate_mps: FloatArray
    """[m/s] NaN where absent."""
    domain: list[Domain | None]
    party: list[str | None]
    kind: list[Kind | None]
    transponder: BoolArray
    callsign: list[str | None] | None = None
    """None: absent on every row (as ``name``, ``ship_type`` and ``station``)."""
    name: list[str | None] | None = None
    ship_type: list[int | None] | None = None
    station: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.t)

    def row(self, k: int) -> Observation:
        """Row ``k`` as an ``Observation``."""

        def number(values: FloatArray) -> float | None:
            value = float(values[k])
            return None if math.isnan(value) else value

        return Observation(
            float(self.t[k]),
            self.platform_id[k],
            self.source,
            number(self.lat),
            number(self.lon),
            alt_m=number(self.alt_m),
            sog_mps=number(self.sog_mps),
            cog_deg=number(self.cog_deg),
            vrate_mps=number(self.vrate_mps),
            domain=self.domain[k],
            party=self.party[k],
            kind=self.kind[k],
            transponder=bool(self.transponder[k]),
            callsign=None if self.callsign is None else self.callsign[k],
            name=None if self.name is None else self.name[k],
            ship_type=None if self.ship_type is None else self.ship_type[k],
            station=None if self.station is None else self.station[k],
        )

    def observations(self) -> list[Observation]:
        """Every row as an ``Observation``, in order."""
        n = len(self)
        nothing: list[None] = [None] * n
        return [
            Observation(t, pid, self.source, la, lo, alt, sog, cog, vr, dom, par, kin, tr, cs, nm, st, sta)
            for t, pid, la, lo, alt, sog, cog, vr, dom, par, kin, tr, cs, nm, st, sta in zip(
                self.t.tolist(),
                self.platform_id,
                _optional(self.lat),
                _optional(self.lon),
                _optional(self.alt_m),
                _optional(self.sog_mps),
                _optional(self.cog_deg),
                _optional(self.vrate_mps),
                self.domain,
                self.party,
                self.kind,
                self.transponder.tolist(),
                self.callsign or nothing,
                self.name or nothing,
                self.ship_type or nothing,
                self.station or nothing,
                strict=True,
            )
        ]

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.observations())

    def take(self, start: int, stop: int) -> ObservationBatch:
        """Rows ``start`` to ``stop`` (excluded)."""
        return self.select(slice(start, stop))

    def select(self, rows: slice | npt.NDArray[np.int64]) -> ObservationBatch:
        """The rows selected by a slice or by an array of row indices, in that order."""
        picked = range(len(self))[rows] if isinstance(rows, slice) else rows.tolist()

        def part(values: list[object] | None) -> list[object] | None:
            if values is None:
                return None
            return values[rows] if isinstance(rows, slice) else [values[k] for k in picked]

        return ObservationBatch(
            source=self.source,
            t=self.t[rows],
            platform_id=part(self.platform_id),  # type: ignore[arg-type]
            lat=self.lat[rows],
            lon=self.lon[rows],
            alt_m=self.alt_m[rows],
            sog_mps=self.sog_mps[rows],
            cog_deg=self.cog_deg[rows],
            vrate_mps=self.vrate_mps[rows],
            domain=part(self.domain),  # type: ignore[arg-type]
            party=part(self.party),  # type: ignore[arg-type]
            kind=part(self.kind),  # type: ignore[arg-type]
            transponder=self.transponder[rows],
            callsign=part(self.callsign),  # type: ignore[arg-type]
            name=part(self.name),  # type: ignore[arg-type]
            ship_type=part(self.ship_type),  # type: ignore[arg-type]
            station=part(self.station),  # type: ignore[arg-type]
        )

    def in_time_order(self) -> ObservationBatch:
        """The rows sorted by time, rows of equal time in their order (a stable sort in bulk)."""
        return self.select(np.argsort(self.t, kind="stable"))

    @staticmethod
    def concat(batches: Sequence[ObservationBatch]) -> ObservationBatch:
        """The rows of every batch, one batch after the other (the first batch's source is kept)."""
        if not batches:
            return ObservationBatch.from_observations([])
        n = sum(len(b) for b in batches)

        def objects(name: str) -> list[object] | None:
            columns = [getattr(b, name) for b in batches]
            if all(c is None for c in columns):
                return None
            return [v for b, c in zip(batches, columns, strict=True) for v in (c if c is not None else [None] * len(b))]

        def floats(name: str) -> FloatArray:
            return np.concatenate([getattr(b, name) for b in batches]) if n else np.zeros(0)

        return ObservationBatch(
            source=batches[0].source,
            t=floats("t"),
            platform_id=objects("platform_id"),  # type: ignore[arg-type]
            lat=floats("lat"),
            lon=floats("lon"),
            alt_m=floats("alt_m"),
            sog_mps=floats("sog_mps"),
            cog_deg=floats("cog_deg"),
            vrate_mps=floats("vrate_mps"),
            domain=objects("domain"),  # type: ignore[arg-type]
            party=objects("party"),  # type: ignore[arg-type]
            kind=objects("kind"),  # type: ignore[arg-type]
            transponder=np.concatenate([b.transponder for b in batches]) if n else np.zeros(0, dtype=bool),
            callsign=objects("callsign"),  # type: ignore[arg-type]
            name=objects("name"),  # type: ignore[arg-type]
            ship_type=objects("ship_type"),  # type: ignore[arg-type]
            station=objects("station"),  # type: ignore[arg-type]
        )

    @staticmethod
    def from_observations(observations: Sequence[Observation]) -> ObservationBatch:
        """The batch holding ``observations`` (all of one source: the first one's is kept)."""

        def floats(values: list[float | None]) -> FloatArray:
            return np.array([math.nan if v is None else v for v in values], dtype=np.float64)

        def column(values: list[object]) -> list[object] | None:
            return None if all(v is None for v in values) else values

        obs = list(observations)
        return ObservationBatch(
            source=obs[0].source if obs else "",
            t=np.array([o.t for o in obs], dtype=np.float64),
            platform_id=[o.platform_id for o in obs],
            lat=floats([o.lat for o in obs]),
            lon=floats([o.lon for o in obs]),
            alt_m=floats([o.alt_m for o in obs]),
            sog_mps=floats([o.sog_mps for o in obs]),
            cog_deg=floats([o.cog_deg for o in obs]),
            vrate_mps=floats([o.vrate_mps for o in obs]),
            domain=[o.domain for o in obs],
            party=[o.party for o in obs],
            kind=[o.kind for o in obs],
            transponder=np.array([o.transponder for o in obs], dtype=bool),
            callsign=column([o.callsign for o in obs]),  # type: ignore[arg-type]
            name=column([o.name for o in obs]),  # type: ignore[arg-type]
            ship_type=column([o.ship_type for o in obs]),  # type: ignore[arg-type]
            station=column([o.station for o in obs]),  # type: ignore[arg-type]
        )


__all__ = ["ObservationBatch"]
