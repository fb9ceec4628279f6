"""Helpers shared by the ingest tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from riskline.ingest.observation import Observation
from riskline.ingest.stats import IngestStats

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CDG = (49.0097, 2.5479)  # [deg] Paris-Charles de Gaulle, where full_flight_short.jsonl starts


@dataclass(frozen=True, slots=True)
class Decoded:
    observations: list[Observation]
    stats: IngestStats

    @property
    def positions(self) -> list[Observation]:
        return [o for o in self.observations if o.has_position]


class SteppingClock:
    """A clock that moves ``step`` seconds each time it is read: untimed messages replayed as if one
    arrived every second, so that the jump gate never compares two of them at the same instant."""

    def __init__(self, start: float = 1_700_000_000.0, step: float = 1.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def lines_of(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle


def balanced(stats: IngestStats) -> bool:
    """Every unit counted once: read == accepted + rejected."""
    return stats.read == stats.accepted + stats.rejected_total
