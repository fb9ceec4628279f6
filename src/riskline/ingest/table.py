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

from riskline.ingest.counting import NOTHING, BadField, LineDecoder, Rejected, drive
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import header_index
from riskline.ingest.values import time_value
from riskline.units import knots_to_mps

SOURCE = "table"
REQUIRED = ("t", "id", "lat", "lon")
OPTIONAL = ("party", "domain", "alt_m", "sog_kn", "cog_deg", "vrate_mps", "transponder", "kind")
COLUMNS = REQUIRED + OPTIONAL
_NAMESPACES = ("mmsi:", "icao:", "id:")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_UNIT_SECONDS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _float(value: object, column: str) -> float | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadField(column)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise BadField(column) from None
    if not math.isfinite(number):
        raise BadField(column)
    return number


def _time(value: object) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    try:
        t = time_value(value)
    except ValueError:
        raise BadField("t") from None
    if t is None:
        raise BadField("t")
    return t


def _text(value: object, column: str) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadField(column)
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
    raise BadField("transponder")


def observation_from_row(row: dict[str, Any]) -> Observation:
    """One table row (column name → cell, text or typed) as an observation; raises ``BadField``."""
    t = _time(row.get("t"))
    ident = _text(row.get("id"), "id")
    if ident is None:
        raise BadField("id")
    platform_id = ident if ident.lower().startswith(_NAMESPACES) else f"id:{ident}"
    lat, lon = _float(row.get("lat"), "lat"), _float(row.get("lon"), "lon")
    if lat is None or not -90.0 <= lat <= 90.0:
        raise BadField("lat")
    if lon is None or not -180.0 <= lon <= 180.0:
        raise BadField("lon")
    party = _text(row.get("party"), "party")
    domain_text = _text(row.get("domain"), "domain")
    kind_text = _text(row.get("kind"), "kind")
    try:
        domain = None if domain_text is None else Domain(domain_text.lower())
    except ValueError:
        raise BadField("domain") from None
    try:
        kind = None if kind_text is None else Kind(kind_text.lower())
    except ValueError:
        raise BadField("kind") from None
    sog_kn = _float(row.get("sog_kn"), "sog_kn")
    if sog_kn is not None and sog_kn < 0.0:
        raise BadField("sog_kn")
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


class TableCsvDecoder(LineDecoder):
    """Push-style: ``feed`` one CSV line at a time; the first non-blank, non-comment line is the header."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        self._columns: dict[str, int] | None = None
        self._missing: str | None = None

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        fields = self._fields(line)
        if fields is None:
            return NOTHING
        if self._columns is None:
            self._columns = header_index(fields)
            self._missing = next((name for name in REQUIRED if name not in self._columns), None)
            if self._missing is not None:
                return self._reject(f"missing_column:{self._missing}")
            return self._accept()
        if self._missing is not None:
            return self._reject(f"missing_column:{self._missing}")
        row = {name: fields[i] for name, i in self._columns.items() if name in COLUMNS and i < len(fields)}
        try:
            observation = observation_from_row(row)
        except Rejected as rejected:
            return self._reject(rejected.reason)
        return self._emit(observation)


def read_table_csv(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from the lines of a positions-table CSV."""
    return drive(TableCsvDecoder(stats, options), lines)


def _python_column(column: Any) -> list[Any]:
    """Cells of one Parquet column; timestamps become POSIX seconds (naive ones read as UTC)."""
    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        scale = _UNIT_SECONDS[column.type.unit]
        return [None if v is None else v / scale for v in column.cast(pa.int64()).to_pylist()]
    return list(column.to_pylist())


def parquet_record_batches(source: Path | bytes | BinaryIO, stats: IngestStats) -> Iterator[Any]:
    """The record batches of a positions-table Parquet file (path, bytes or binary file), 65,536 rows at most each,
    with the table's columns only, so memory stays bounded. The file's bytes are counted; the rows of a file that
    lacks a required column are counted as rejected (``missing_column:<name>``) and not given. Raises what pyarrow
    raises on a file it cannot read (the callers count it ``malformed``)."""
    import pyarrow.parquet as pq  # imported here: only Parquet input pays for it

    if isinstance(source, bytes):
        stats.bytes_read += len(source)
        handle: Any = io.BytesIO(source)
    elif isinstance(source, Path):
        stats.bytes_read += source.stat().st_size
        handle = source
    else:
        handle = source
    parquet = pq.ParquetFile(handle)
    names = {name.lower(): name for name in parquet.schema_arrow.names}
    missing = next((name for name in REQUIRED if name not in names), None)
    wanted = None if missing is not None else [names[c] for c in COLUMNS if c in names]
    for batch in parquet.iter_batches(batch_size=65536, columns=wanted):
        if missing is not None:
            stats.read += batch.num_rows
            stats.reject(f"missing_column:{missing}", batch.num_rows)
            continue
        yield batch


def read_table_parquet(
    source: Path | bytes | BinaryIO, stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from a positions-table Parquet file (path, bytes or binary file), batch by batch."""
    import pyarrow as pa  # imported here: only Parquet input pays for it

    try:
        for batch in parquet_record_batches(source, stats):
            cells = {
                name.lower(): _python_column(batch.column(name))
                for name in batch.schema.names
                if name.lower() in COLUMNS
            }
            for i in range(batch.num_rows):
                row = {name: values[i] for name, values in cells.items()}
                stats.read += 1
                try:
                    observation = observation_from_row(row)
                except Rejected as rejected:
                    stats.reject(rejected.reason)
                    continue
                stats.accepted += 1
                stats.observations += 1
                yield observation
    except (pa.ArrowException, OSError, ValueError):
        stats.read += 1
        stats.reject("malformed")
