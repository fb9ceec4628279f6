"""Positions-table CSV read column-wise: a block of lines parsed by pyarrow, checked and converted per column.

The per-line reader (``table.TableCsvDecoder``) spends most of its time turning each cell into a Python value.
Here a block of lines (one chunk of the file, ``sources.COLUMN_CHUNK_DEFAULT``) is parsed by pyarrow's CSV reader with
every cell as text, numeric columns are converted by one cast each, and text columns (time, id, party, domain,
kind, transponder) are converted once per *distinct* value with the per-line reader's own helpers — a table has
few distinct ids, parties and times. Every check of ``table.observation_from_row`` is made on whole columns.

Exactness first: a block is taken column-wise only if it is plain (no comment, blank, quoted or CR-ended line;
every row as wide as the header) and every one of its rows passes every check; otherwise the whole block goes
through the per-line reader, which counts each bad row with its reason. So a clean block gives exactly the
per-line reader's observations, and a dirty one exactly its observations and rejects
(``tests/test_watch_batches.py`` compares both on clean and dirty tables).

Parquet tables (``read_table_parquet_batches``) are read the same way, one Parquet record batch at a time (so
memory stays bounded): typed numeric and timestamp columns are cast as a whole, text columns converted per distinct
value; a record batch with any row the row reader would reject or read differently goes through
``table.observation_from_row`` row by row (``tests/ingest/test_table_parquet_columns.py``).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.counting import BadField, Rejected
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import (
    _NAMESPACES,
    _UNIT_SECONDS,
    COLUMNS,
    SOURCE,
    TableCsvDecoder,
    _python_column,
    _text,
    _time,
    _transponder,
    observation_from_row,
    parquet_record_batches,
)
from riskline.ingest.textlines import csv_fields
from riskline.units import KNOT

_NUMERIC = ("lat", "lon", "alt_m", "sog_kn", "cog_deg", "vrate_mps")
_TEXT = ("t", "id", "party", "domain", "kind", "transponder")


class _Dirty(Exception):
    """The block needs the per-line reader."""


def _plain(block: bytes) -> bool:
    return not (
        block.startswith((b"#", b"\n", b" ", b"\t"))
        or b"\n\t" in block
        or b"\n#" in block
        or b"\n\n" in block
        or b'"' in block
        or b"\r" in block
        or b"\n " in block
    )


def _platform_id(value: object) -> str:
    ident = _text(value, "id")
    if ident is None:
        raise BadField("id")
    return ident if ident.lower().startswith(_NAMESPACES) else f"id:{ident}"


def _domain(value: object) -> Domain | None:
    text = _text(value, "domain")
    return None if text is None else Domain(text.lower())


def _kind(value: object) -> Kind | None:
    text = _text(value, "kind")
    return None if text is None else Kind(text.lower())


_CONVERTERS: dict[str, Callable[[Any], object]] = {
    "t": _time,
    "id": _platform_id,
    "party": lambda value: _text(value, "party"),
    "domain": _domain,
    "kind": _kind,
    "transponder": _transponder,
}
_ABSENT: dict[str, object] = {"t": None, "id": None, "party": None, "domain": None, "kind": None, "transponder": True}


def _by_value(column: Any, convert: Callable[[Any], object]) -> list[object]:
    """The column converted once per distinct value; raises ``_Dirty`` if any value does not convert."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column).combine_chunks()
    try:
        converted = [convert(value) for value in encoded.dictionary.to_pylist()]
        if encoded.null_count:
            converted.append(convert(None))
    except (ValueError, BadField):
        raise _Dirty from None
    indices = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False)  # null indices would come out as NaN
    if encoded.null_count:
        indices = np.where(encoded.is_valid().to_numpy(zero_copy_only=False), indices, len(converted) - 1)
    table = np.empty(len(converted), dtype=object)
    table[:] = converted
    return list(table[indices])


def _floats(column: Any) -> npt.NDArray[np.float64]:
    """The column as floats, NaN where blank; raises ``_Dirty`` for a value that is not a finite number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _Dirty from None
    blank = column.is_null().to_numpy(zero_copy_only=False)
    if not np.isfinite(values[~blank]).all():
        raise _Dirty
    return np.asarray(values, dtype=np.float64)


def columnar_rows(block: bytes, columns: dict[str, int], width: int) -> ObservationBatch | None:
    """The observations of a block of data lines, read column-wise; None if the block must go line by line.

    ``columns`` maps the known column names to their positions in the header, which has ``width`` fields.
    """
    if not block or not _plain(block):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    wanted = {name: names[i] for name, i in columns.items() if name in _NUMERIC + _TEXT}
    try:
        table = pacsv.read_csv(
            io.BytesIO(block),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pacsv.ParseOptions(quote_char=False, double_quote=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[""],
                strings_can_be_null=True,
                include_columns=sorted(set(wanted.values())),
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    n = table.num_rows
    try:
        text = {
            name: _by_value(table.column(wanted[name]), _CONVERTERS[name]) if name in wanted else [_ABSENT[name]] * n
            for name in _TEXT
        }
        numbers = {
            name: _floats(table.column(wanted[name])) if name in wanted else np.full(n, math.nan) for name in _NUMERIC
        }
    except _Dirty:
        return None
    lat, lon, sog = numbers["lat"], numbers["lon"], numbers["sog_kn"]
    with np.errstate(invalid="ignore"):
        if not ((np.abs(lat) <= 90.0).all() and (np.abs(lon) <= 180.0).all() and not (sog < 0.0).any()):
            return None
    if any(value is None for value in text["id"]) or any(value is None for value in text["t"]):
        return None
    return _table_batch(np.array(text["t"], dtype=np.float64), text, numbers, lat, lon, sog)


class TableCsvBulkDecoder(TableCsvDecoder):
    """``TableCsvDecoder`` that also takes a batch of lines at once, column-wise where the block allows it."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats, options)
        self._width = 0

    def feed_lines(self, lines: Sequence[bytes]) -> list[Observation]:
        """What feeding the lines one by one gives (see the module's docstring)."""
        return [o for batch in self.feed_columns(lines) for o in batch.observations()]

    def feed_columns(self, lines: Sequence[bytes]) -> list[ObservationBatch]:
        """The observations of the lines as batches: column-wise where the block allows, else line by line."""
        by_line: list[Observation] = []
        start = 0
        while self._columns is None and start < len(lines):
            line = lines[start]
            by_line.extend(self.feed(line))
            start += 1
            if self._columns is not None:
                self._width = len(csv_fields(line.decode("utf-8").strip()))
        rest = lines[start:]
        if rest and self._columns is not None and self._missing is None:
            block = b"".join(rest)
            batch = columnar_rows(block if block.endswith(b"\n") else block + b"\n", self._columns, self._width)
            if batch is not None and len(batch) == len(rest):
                stats = self._stats
                stats.bytes_read += len(block)
                stats.read += len(batch)
                stats.accepted += len(batch)
                stats.observations += len(batch)
                return ([ObservationBatch.from_observations(by_line)] if by_line else []) + [batch]
        for line in rest:
            by_line.extend(self.feed(line))
        return [ObservationBatch.from_observations(by_line)] if by_line else []




# --- Parquet ----------------------------------------------------------------------------------------------------


def _parquet_numbers(column: Any) -> npt.NDArray[np.float64]:
    """A numeric Parquet column as floats, NaN where null; raises ``_Dirty`` where ``table._float`` would not give
    the same (booleans, other types, non-finite values)."""
    import pyarrow as pa

    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
        if not np.isfinite(values[column.is_valid().to_numpy(zero_copy_only=False)]).all():
            raise _Dirty
        return np.asarray(values, dtype=np.float64)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return _floats(column)
    raise _Dirty


def _parquet_times(column: Any) -> npt.NDArray[np.float64]:
    """[s] the ``t`` column as ``table._time`` reads each cell; raises ``_Dirty`` where it would reject one."""
    import pyarrow as pa

    if column.null_count:
        raise _Dirty
    if pa.types.is_timestamp(column.type):  # as table._python_column: the count of units over the unit
        seconds = column.cast(pa.int64()).to_numpy(zero_copy_only=False) / _UNIT_SECONDS[column.type.unit]
        if not np.isfinite(seconds).all():
            raise _Dirty
        return np.asarray(np.where(np.abs(seconds) > 1e11, seconds / 1000.0, seconds), dtype=np.float64)
    return np.array(_by_value(column, _time), dtype=np.float64)


def parquet_columns(batch: Any) -> ObservationBatch | None:
    """The observations of one Parquet record batch (its columns named as ``table.COLUMNS``, any case), read
    column-wise; None when any of its rows would be rejected or read differently, so it must go row by row."""
    import pyarrow as pa

    n = batch.num_rows
    table = pa.Table.from_batches([batch])  # chunked columns, as the CSV reader gives
    by_name = {name.lower(): table.column(name) for name in table.column_names if name.lower() in COLUMNS}
    try:
        t = _parquet_times(by_name["t"])
        text = {
            name: _by_value(by_name[name], _CONVERTERS[name]) if name in by_name else [_ABSENT[name]] * n
            for name in ("id", "party", "domain", "kind", "transponder")
        }
        numbers = {
            name: _parquet_numbers(by_name[name]) if name in by_name else np.full(n, math.nan) for name in _NUMERIC
        }
    except (_Dirty, pa.ArrowException):
        return None
    lat, lon, sog = numbers["lat"], numbers["lon"], numbers["sog_kn"]
    with np.errstate(invalid="ignore"):
        if not ((np.abs(lat) <= 90.0).all() and (np.abs(lon) <= 180.0).all() and not (sog < 0.0).any()):
            return None
    if any(value is None for value in text["id"]):
        return None
    return _table_batch(t, text, numbers, lat, lon, sog)


def _table_batch(
    t: Any, text: Mapping[str, list[Any]], numbers: Mapping[str, Any], lat: Any, lon: Any, sog: Any
) -> ObservationBatch:
    """The batch of checked columns (CSV or Parquet alike): ``t`` [s], ``sog`` [kn], the rest as the table gives."""
    return ObservationBatch(
        source=SOURCE,
        t=t,
        platform_id=text["id"],
        lat=lat,
        lon=lon,
        alt_m=numbers["alt_m"],
        sog_mps=sog * KNOT,
        cog_deg=numbers["cog_deg"] % 360.0,
        vrate_mps=numbers["vrate_mps"],
        domain=text["domain"],
        party=text["party"],
        kind=text["kind"],
        transponder=np.array(text["transponder"], dtype=bool),
    )


def read_table_parquet_batches(
    source: Path | bytes | BinaryIO, stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[ObservationBatch]:
    """``table.read_table_parquet`` as batches, one per Parquet record batch: column-wise where the record batch
    allows, row by row (``table.observation_from_row``) where it does not. Same observations, same counts."""
    import pyarrow as pa

    try:
        for batch in parquet_record_batches(source, stats):
            columns = parquet_columns(batch) if batch.num_rows else None
            if columns is not None:
                stats.read += len(columns)
                stats.accepted += len(columns)
                stats.observations += len(columns)
                yield columns
                continue
            rows = _parquet_rows(batch, stats)
            if rows:
                yield ObservationBatch.from_observations(rows)
    except (pa.ArrowException, OSError, ValueError):
        stats.read += 1
        stats.reject("malformed")


def _parquet_rows(batch: Any, stats: IngestStats) -> list[Observation]:
    """The record batch row by row, as ``table.read_table_parquet`` reads it."""
    cells = {name.lower(): _python_column(batch.column(name)) for name in batch.schema.names if name.lower() in COLUMNS}
    out: list[Observation] = []
    for i in range(batch.num_rows):
        stats.read += 1
        try:
            observation = observation_from_row({name: values[i] for name, values in cells.items()})
        except Rejected as rejected:
            stats.reject(rejected.reason)
            continue
        stats.accepted += 1
        stats.observations += 1
        out.append(observation)
    return out


__all__ = ["TableCsvBulkDecoder", "columnar_rows", "parquet_columns", "read_table_parquet_batches"]
