"""Positions tables (CSV or Parquet): radar and fused tracks, exercise plans, and test scenarios.

Columns (header names, case-insensitive): ``t`` (ISO 8601, naive = UTC, or POSIX seconds; Parquet may use a
timestamp type), ``id``, ``lat``, ``lon`` [deg], all required; optional ``party`` (wins over every other
attribution), ``domain`` (``air``/``sea``), ``alt_m`` [m], ``sog_kn`` [kn], ``cog_deg`` [deg],
``vrate_mps`` [m/s], ``transponder`` (true/false, default true: false marks a non-cooperative track) and
``kind`` (``military``/``civil``). Blank optional cells are absent values. Missing velocity stays None:
the tracks package derives it.

``platform_id`` is ``id:<id>``, or the id itself when it already reads ``mmsi:...``, ``icao:...`` or ``id:...``.
A table is trusted as given (no jump gate); each row is checked field by field and a bad one is rejected as
``bad_field:<column>`` (never raises). A table without a required column rejects every row as
``missing_column:<column>``; an unreadable Parquet file counts as one ``malformed`` unit.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import csv_fields, header_index
from riskline.timeutil import parse_time
from riskline.units import knots_to_mps

SOURCE = "table"
NOTHING: tuple[Observation, ...] = ()
REQUIRED = ("t", "id", "lat", "lon")
OPTIONAL = ("party", "domain", "alt_m", "sog_kn", "cog_deg", "vrate_mps", "transponder", "kind")
COLUMNS = REQUIRED + OPTIONAL
_NAMESPACES = ("mmsi:", "icao:", "id:")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_UNIT_SECONDS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


class _BadField(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _float(value: object, column: str) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _BadField(column)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise _BadField(column) from None
    if not math.isfinite(number):
        raise _BadField(column)
    return number


def _time(value: object) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, bool):
        raise _BadField("t")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise _BadField("t") from None
        if not math.isfinite(number):
            raise _BadField("t")
        return number / 1000.0 if abs(number) > 1e11 else number
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            raise _BadField("t") from None
    raise _BadField("t")


def _text(value: object, column: str) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _BadField(column)
    return str(value).strip()


def _transponder(value: object) -> bool:
    if _blank(value):
        return True
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _BadField("transponder")


def observation_from_row(row: dict[str, Any]) -> Observation:
    """One table row (column name → cell, text or typed) as an observation; raises ``_BadField``."""
    t = _time(row.get("t"))
    ident = _text(row.get("id"), "id")
    if ident is None:
        raise _BadField("id")
    platform_id = ident if ident.lower().startswith(_NAMESPACES) else f"id:{ident}"
    lat, lon = _float(row.get("lat"), "lat"), _float(row.get("lon"), "lon")
    if lat is None or not -90.0 <= lat <= 90.0:
        raise _BadField("lat")
    if lon is None or not -180.0 <= lon <= 180.0:
        raise _BadField("lon")
    party = _text(row.get("party"), "party")
    domain_text = _text(row.get("domain"), "domain")
    kind_text = _text(row.get("kind"), "kind")
    try:
        domain = None if domain_text is None else Domain(domain_text.lower())
    except ValueError:
        raise _BadField("domain") from None
    try:
        kind = None if kind_text is None else Kind(kind_text.lower())
    except ValueError:
        raise _BadField("kind") from None
    sog_kn = _float(row.get("sog_kn"), "sog_kn")
    if sog_kn is not None and sog_kn < 0.0:
        raise _BadField("sog_kn")
    cog = _float(row.get("cog_deg"), "cog_deg")
    return Observation(
        t,
        platform_id,
        SOURCE,
        lat,
        lon,
        alt_m=_float(row.get("alt_m"), "alt_m"),
        sog_mps=None if sog_kn is None else knots_to_mps(sog_kn),
        cog_deg=None if cog is None else cog % 360.0,
        vrate_mps=_float(row.get("vrate_mps"), "vrate_mps"),
        domain=domain,
        party=party,
        kind=kind,
        transponder=_transponder(row.get("transponder")),
    )


class TableCsvDecoder:
    """Push-style: ``feed`` one CSV line at a time; the first non-blank, non-comment line is the header."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        self._stats = stats
        self._columns: dict[str, int] | None = None
        self._missing: str | None = None

    def _reject(self, reason: str) -> tuple[Observation, ...]:
        self._stats.read += 1
        self._stats.reject(reason)
        return NOTHING

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        self._stats.bytes_read += len(line)
        try:
            text = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            return self._reject("malformed")
        if not text:
            return NOTHING
        if text[0] == "#":
            self._stats.read += 1
            self._stats.accepted += 1
            return NOTHING
        try:
            fields = csv_fields(text)
        except ValueError:
            return self._reject("malformed")
        if self._columns is None:
            self._columns = header_index(fields)
            self._missing = next((name for name in REQUIRED if name not in self._columns), None)
            if self._missing is not None:
                return self._reject(f"missing_column:{self._missing}")
            self._stats.read += 1
            self._stats.accepted += 1
            return NOTHING
        if self._missing is not None:
            return self._reject(f"missing_column:{self._missing}")
        row = {name: fields[i] for name, i in self._columns.items() if name in COLUMNS and i < len(fields)}
        try:
            observation = observation_from_row(row)
        except _BadField as bad:
            return self._reject(f"bad_field:{bad.column}")
        self._stats.read += 1
        self._stats.accepted += 1
        self._stats.observations += 1
        return (observation,)

    def flush(self) -> tuple[Observation, ...]:
        return NOTHING


def read_table_csv(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from the lines of a positions-table CSV."""
    decoder = TableCsvDecoder(stats, options)
    for line in lines:
        out = decoder.feed(line)
        if out:
            yield from out


def _python_column(column: Any) -> list[Any]:
    """Cells of one Parquet column; timestamps become POSIX seconds (naive ones read as UTC)."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        scale = _UNIT_SECONDS[column.type.unit]
        return [None if v is None else v / scale for v in column.cast(pa.int64()).to_pylist()]
    return list(column.to_pylist())


def read_table_parquet(
    source: Path | bytes | BinaryIO, stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from a positions-table Parquet file (path, bytes or binary file), batch by batch."""
    import pyarrow as pa  # imported here: only Parquet input pays for it
    import pyarrow.parquet as pq

    if isinstance(source, bytes):
        stats.bytes_read += len(source)
        handle: Any = io.BytesIO(source)
    elif isinstance(source, Path):
        stats.bytes_read += source.stat().st_size
        handle = source
    else:
        handle = source
    try:
        parquet = pq.ParquetFile(handle)
        names = {name.lower(): name for name in parquet.schema_arrow.names}
        missing = next((name for name in REQUIRED if name not in names), None)
        wanted = None if missing is not None else [names[c] for c in COLUMNS if c in names]
        batches = parquet.iter_batches(batch_size=65536, columns=wanted)
        for batch in batches:
            if missing is not None:
                stats.read += batch.num_rows
                stats.reject(f"missing_column:{missing}", batch.num_rows)
                continue
            cells = {name.lower(): _python_column(batch.column(name)) for name in batch.schema.names
                     if name.lower() in COLUMNS}
            for i in range(batch.num_rows):
                row = {name: values[i] for name, values in cells.items()}
                stats.read += 1
                try:
                    observation = observation_from_row(row)
                except _BadField as bad:
                    stats.reject(f"bad_field:{bad.column}")
                    continue
                stats.accepted += 1
                stats.observations += 1
                yield observation
    except (pa.ArrowException, OSError, ValueError):
        stats.read += 1
        stats.reject("malformed")
