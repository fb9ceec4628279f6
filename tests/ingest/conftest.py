"""Fixtures of the ingest tests: where the real files are, and the big ones decoded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_support import CDG, FIXTURES, Decoded, lines_of

from riskline.ingest.modes_text import read_modes_jsonl
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats


@pytest.fixture(scope="session")
def ais_dir(data_dir: Path) -> Path:
    return data_dir / "ais"


@pytest.fixture(scope="session")
def traffic_dir(data_dir: Path) -> Path:
    return data_dir / "traffic"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def full_flight(traffic_dir: Path) -> Decoded:
    """full_flight_short.jsonl decoded without a receiver reference."""
    stats = IngestStats()
    observations = list(read_modes_jsonl(lines_of(traffic_dir / "full_flight_short.jsonl"), stats))
    return Decoded(observations, stats)


@pytest.fixture(scope="session")
def full_flight_at_cdg(traffic_dir: Path) -> Decoded:
    """full_flight_short.jsonl decoded with the receiver reference at Charles de Gaulle."""
    stats = IngestStats()
    options = ReaderOptions(reference=CDG)
    observations = list(read_modes_jsonl(lines_of(traffic_dir / "full_flight_short.jsonl"), stats, options))
    return Decoded(observations, stats)
