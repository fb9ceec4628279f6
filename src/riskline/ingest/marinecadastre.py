"""NOAA MarineCadastre AIS CSV (https://marinecadastre.gov/ais/), the most used public AIS archive format.

Header (2018 onwards): ``MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,
Status,Length,Width,Draft,Cargo,TransceiverClass``. ``BaseDateTime`` is UTC without a zone; SOG in knots
(102.3 = not available), COG in degrees (360 = not available), ``VesselType`` the AIS ship and cargo type
(0 = not available). Columns are found by name (case-insensitive), so older layouts with extra or fewer
optional columns work. The first non-blank, non-comment line must be the header; it is read and accepted.

A row with a bad value in a used column is rejected as ``bad_field:<column>`` (e.g. ``bad_field:LAT``);
a file missing a required column rejects every row as ``missing_column:<column>``. LAT 91 / LON 181 give
no position: the row then yields an identity observation if it tells something new.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from riskline.ingest.counting import NOTHING, BadField, LineDecoder, Rejected, drive
from riskline.ingest.gate import SEA_LIMITS, JumpGate, RangeGate, valid_lat_lon
from riskline.ingest.memory import IdentityMemory
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import header_index
from riskline.units import knots_to_mps

SOURCE = "marinecadastre"
REQUIRED = ("mmsi", "basedatetime", "lat", "lon")


def _time(text: str) -> float:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _optional_float(text: str) -> float | None:
    stripped = text.strip()
    if not stripped:
        return None
    value = float(stripped)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class MarineCadastreDecoder(LineDecoder):
    """Push-style decoder: ``feed`` one line at a time, ``flush`` at the end."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._columns: dict[str, int] | None = None
        self._names: list[str] = []
        self._missing: str | None = None
        self._width = 0
        self._gate = JumpGate(SEA_LIMITS)
        self._range = RangeGate(opts.reference, opts.max_range_m)
        self._identities = IdentityMemory()

    def _header(self, names: list[str]) -> tuple[Observation, ...]:
        self._names = [name.strip().strip("\ufeff") for name in names]
        self._columns = header_index(names)
        missing = [name for name in REQUIRED if name not in self._columns]
        if missing:
            self._missing = missing[0]
            return self._reject(f"missing_column:{self._missing}")
        self._width = 1 + max(self._columns[name] for name in REQUIRED)
        return self._accept()

    def _column(self, fields: list[str], key: str) -> str:
        assert self._columns is not None
        position = self._columns.get(key)
        if position is None or position >= len(fields):
            return ""
        return fields[position]

    def _name(self, key: str) -> str:
        assert self._columns is not None
        return self._names[self._columns[key]]

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        if self._missing is not None:  # every row is rejected for it, whether or not it parses
            return NOTHING if self._text(line) is None else self._reject(f"missing_column:{self._missing}")
        fields = self._fields(line)
        if fields is None:
            return NOTHING
        if self._columns is None:
            return self._header(fields)
        if len(fields) < self._width:
            return self._reject("malformed")
        try:
            return self._row(fields)
        except Rejected as rejected:
            return self._reject(rejected.reason)

    def _row(self, fields: list[str]) -> tuple[Observation, ...]:
        column = self._column
        mmsi_text = column(fields, "mmsi").strip()
        if not mmsi_text.isdigit() or len(mmsi_text) > 9:
            raise BadField(self._name("mmsi"))
        key = f"mmsi:{int(mmsi_text):09d}"
        try:
            t = _time(column(fields, "basedatetime"))
        except ValueError:
            raise BadField(self._name("basedatetime")) from None
        values: dict[str, float | None] = {}
        for numeric in ("lat", "lon", "sog", "cog", "vesseltype"):
            try:
                values[numeric] = _optional_float(column(fields, numeric))
            except ValueError:
                raise BadField(self._name(numeric)) from None
        lat, lon, sog, cog, vessel_type = (values[n] for n in ("lat", "lon", "sog", "cog", "vesseltype"))
        name = column(fields, "vesselname").strip() or None
        callsign = column(fields, "callsign").strip() or None
        ship_type = int(vessel_type) if vessel_type is not None and vessel_type >= 1 else None
        changed = self._identities.update(key, callsign=callsign, name=name, ship_type=ship_type)
        if lat is None or lon is None or lat == 91.0 or lon == 181.0:
            if changed is None:
                return self._accept()
            return self._emit(
                Observation(
                    t,
                    key,
                    SOURCE,
                    domain=Domain.SEA,
                    callsign=changed.callsign,
                    name=changed.name,
                    ship_type=changed.ship_type,
                )
            )
        if not valid_lat_lon(lat, lon) or not self._range.admit(lat, lon):
            return self._reject("implausible_value")
        if not self._gate.admit(key, t, lat, lon):
            return self._reject("implausible_jump")
        return self._emit(
            Observation(
                t,
                key,
                SOURCE,
                lat,
                lon,
                sog_mps=None if sog is None or not 0.0 <= sog < 102.3 else knots_to_mps(sog),
                cog_deg=None if cog is None or not 0.0 <= cog < 360.0 else cog,
                domain=Domain.SEA,
                callsign=callsign,
                name=name,
                ship_type=ship_type,
            )
        )


def read_marinecadastre(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from the lines of a MarineCadastre CSV file."""
    return drive(MarineCadastreDecoder(stats, options), lines)
