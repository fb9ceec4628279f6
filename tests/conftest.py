"""Shared fixtures: where the real data lives, and the project's own test doubles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.testing.postgres import PostgresCluster, missing_reason

REPO = Path(__file__).resolve().parent.parent


def _shared_dir() -> Path:
    override = os.environ.get("RISKLINE_SHARED")
    candidate = Path(override) if override else REPO.parent / "shared"
    return candidate.resolve()


SHARED = _shared_dir()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (or ``$RISKLINE_SHARED``): real AIS/ADS-B data and the regimes."""
    if not (SHARED / "data").is_dir():
        pytest.fail(f"real data not found at {SHARED}: clone riskline beside shared/ or set RISKLINE_SHARED")
    return SHARED


@pytest.fixture(scope="session")
def data_dir(shared_dir: Path) -> Path:
    return shared_dir / "data"


@pytest.fixture(scope="session")
def domain_dir(shared_dir: Path) -> Path:
    return shared_dir / "domain"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL 15 cluster for the whole session (skipped, with the reason, where it cannot run)."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with PostgresCluster.start() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A new empty database (PostGIS enabled) on the session's cluster: its SQLAlchemy URL."""
    return postgres_cluster.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a back-end-agnostic test opens its database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "riskline.db")
    return str(request.getfixturevalue("postgres_url"))
