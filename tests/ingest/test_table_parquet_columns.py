"""Positions-table Parquet read column-wise against the row reader: same observations, same counts by reason,
whatever the column types, on clean and dirty tables, streamed record batch by record batch."""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.ingest.options import ReaderOptions
from riskline.ingest.sources import read_path, read_path_batches
from riskline.ingest.stats import IngestStats
from riskline.ingest.table_columns import parquet_columns
from riskline.scenarios.baltic import busy_baltic_hour


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> pa.Table:
    hour = busy_baltic_hour(data_dir, tmp_path_factory.mktemp("busy"), ships=20, aircraft=10, seed=2)
    convert = pacsv.ConvertOptions(column_types={"id": pa.string()})
    return pacsv.read_csv(hour.table_path, convert_options=convert)


def _same(path: Path, options: ReaderOptions | None = None) -> tuple[IngestStats, int]:
    expected_stats, got_stats = IngestStats(), IngestStats()
    expected = list(read_path(path, expected_stats, options=options))
    batches = list(read_path_batches(path, got_stats, options=options))
    assert [o for b in batches for o in b.observations()] == expected
    assert got_stats == expected_stats
    return expected_stats, len(batches)


def _write(table: pa.Table, path: Path, row_group_size: int = 2000) -> Path:
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_the_busy_hour_table_reads_the_same_in_row_groups(table: pa.Table, tmp_path: Path) -> None:
    stats, batches = _same(_write(table, tmp_path / "t.parquet", row_group_size=500))
    assert stats.observations == table.num_rows > 2000
    assert batches == -(-table.num_rows // 65536)  # record batches of at most 65,536 rows


def _retyped(table: pa.Table, how: str) -> pa.Table:
    seconds = table.column("t").cast(pa.int64())
    if how == "timestamp_ms":
        return table.set_column(0, "t", pc.multiply(seconds, 1000).cast(pa.timestamp("ms")))
    if how == "timestamp_ns_utc":
        return table.set_column(0, "t", pc.multiply(seconds, 1_000_000_000).cast(pa.timestamp("ns", tz="UTC")))
    if how == "float_seconds":
        return table.set_column(0, "t", pc.add(seconds.cast(pa.float64()), 0.25))
    if how == "iso_text":
        return table.set_column(0, "t", pc.strftime(table.column("t"), format="%Y-%m-%dT%H:%M:%S"))
    if how == "upper_case_names":
        return table.rename_columns([name.upper() for name in table.column_names])
    if how == "float32_numbers":
        return table.set_column(2, "lat", table.column("lat").cast(pa.float32()))
    if how == "text_numbers":
        return table.set_column(3, "lon", table.column("lon").cast(pa.string()))
    if how == "dictionary_text":
        return table.set_column(4, table.column_names[4], table.column(4).dictionary_encode())
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "timestamp_ms",
        "timestamp_ns_utc",
        "float_seconds",
        "iso_text",
        "upper_case_names",
        "float32_numbers",
        "text_numbers",
        "dictionary_text",
    ],
)
def test_every_column_type_reads_the_same(table: pa.Table, tmp_path: Path, how: str) -> None:
    _same(_write(_retyped(table.slice(0, 6000), how), tmp_path / f"{how}.parquet"))


def _spoiled(table: pa.Table, seed: int, rate: float) -> pa.Table:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        if rng.random() >= rate:
            continue
        roll = rng.random()
        if roll < 0.2:
            row["lat"] = rng.choice([None, 95.0, -91.0, float("nan"), float("inf")])
        elif roll < 0.4:
            row["id"] = rng.choice([None, " ", ""])
        elif roll < 0.5:
            row["domain"] = rng.choice(["space", None, "AIR"])
        elif roll < 0.6:
            row["sog_kn"] = rng.choice([-1.0, None, 0.0])
        elif roll < 0.7:
            row["t"] = None
        elif roll < 0.8:
            row["kind"] = rng.choice(["navy", None, "MILITARY"])
        else:
            row["lon"] = rng.choice([None, 181.0, -180.0])
    return pa.Table.from_pylist(rows, schema=table.schema)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 1000), rate=st.sampled_from([0.0005, 0.01, 0.3]))
def test_dirty_rows_read_the_same_counted_by_the_same_reasons(
    table: pa.Table, tmp_path_factory: pytest.TempPathFactory, seed: int, rate: float
) -> None:
    path = tmp_path_factory.mktemp("dirty") / "dirty.parquet"
    _same(_write(_spoiled(table.slice(0, 8000), seed, rate), path, row_group_size=300))


def test_a_boolean_number_column_and_a_missing_column_read_the_same(table: pa.Table, tmp_path: Path) -> None:
    small = table.slice(0, 3000)
    booleans = small.set_column(6, small.column_names[6], pa.array([True] * small.num_rows))
    _same(_write(booleans, tmp_path / "bool.parquet"))
    stats, _ = _same(_write(small.drop_columns(["lat"]), tmp_path / "nolat.parquet"))
    assert stats.rejected == {"missing_column:lat": small.num_rows}


def test_a_gzipped_and_a_broken_parquet_file_read_the_same(table: pa.Table, tmp_path: Path) -> None:
    plain = _write(table.slice(0, 3000), tmp_path / "t.parquet")
    zipped = tmp_path / "t.parquet.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    _same(zipped, ReaderOptions(fmt="table_parquet"))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(plain.read_bytes()[: len(plain.read_bytes()) // 2] + plain.read_bytes()[-8:])
    stats, _ = _same(broken, ReaderOptions(fmt="table_parquet"))
    assert stats.rejected["malformed"] == 1


@pytest.mark.parametrize(
    "how", [None, "timestamp_ns_utc", "float_seconds", "iso_text", "text_numbers", "dictionary_text"]
)
def test_a_clean_record_batch_is_read_column_wise(table: pa.Table, how: str | None) -> None:
    small = table.slice(0, 2000)
    batch = (small if how is None else _retyped(small, how)).combine_chunks().to_batches()[0]
    columns = parquet_columns(batch)
    assert columns is not None
    assert len(columns) == batch.num_rows


def test_blank_optional_text_cells_read_the_same(tmp_path: Path) -> None:
    """A blank party, domain or kind once made the column-wise reader index with NaN (IndexError)."""
    csv = tmp_path / "blank.csv"
    csv.write_text("t,id,lat,lon,party,domain,kind\n1700000000,a,1,2,,,\n1700000001,b,1,2,SE,air,military\n")
    _same(csv)
    rows = [{"t": 1700000000.0, "id": "a", "lat": 1.0, "lon": 2.0, "domain": None, "party": None, "kind": None},
            {"t": 1700000001.0, "id": "b", "lat": 1.0, "lon": 2.0, "domain": "air", "party": "SE", "kind": "civil"}]
    stats, _ = _same(_write(pa.Table.from_pylist(rows), tmp_path / "blank.parquet"))
    assert stats.observations == 2
