"""Shared fixtures: where the real data lives, and the project's own test doubles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
