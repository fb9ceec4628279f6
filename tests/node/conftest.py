"""Fixtures for node tests: nodes opened in-process (``InProcess``) on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess, make_nodes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_790_000_000.0)


@pytest.fixture
def pair(tmp_path: Path, clock: FakeClock) -> Iterator[InProcess]:
    nodes = make_nodes(tmp_path, clock)
    yield nodes
    nodes.close()


@pytest.fixture
def trio(tmp_path: Path, clock: FakeClock) -> Iterator[InProcess]:
    nodes = make_nodes(tmp_path, clock, council=True)
    yield nodes
    nodes.close()
