"""A long feed for history jobs and their benchmarks, built from a short real-data positions table.

``repeat_positions`` writes ``copies`` of a positions table (the Baltic scenario: 15 minutes of reconstructed
real incidents among real relocated traffic), the k-th shifted ``k × every_s`` later in time. With ``every_s``
longer than the track table's longest memory the copies do not touch, so each repeats the same encounters:
a month of a regional feed at the scenario's density, with known answers, from data riskline ships.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from riskline.scenarios.errors import ScenarioError


def repeat_positions(source: Path, target: Path, *, copies: int, every_s: float) -> int:
    """Write ``copies`` time-shifted copies of the positions table ``source`` to ``target``; returns the rows."""
    if copies < 1 or not every_s > 0:
        raise ScenarioError(f"need at least one copy and a positive spacing, not {copies} every {every_s:g} s")
    with source.open(newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader)
        rows = list(reader)
    if "t" not in header:
        raise ScenarioError(f"{source}: no 't' column; not a positions table")
    column = header.index("t")
    times = [dt.datetime.fromisoformat(row[column].replace("Z", "+00:00")) for row in rows]
    written = 0
    with target.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for copy in range(copies):
            shift = dt.timedelta(seconds=copy * every_s)
            for row, moment in zip(rows, times, strict=True):
                shifted = list(row)
                shifted[column] = (moment + shift).strftime("%Y-%m-%dT%H:%M:%SZ")
                writer.writerow(shifted)
                written += 1
    return written
