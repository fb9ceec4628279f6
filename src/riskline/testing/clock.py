"""A clock that moves only when told to: time is a parameter everywhere in riskline's core."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FakeClock:
    """Callable like ``time.time``; starts at ``now`` and advances only through ``advance``/``set``."""

    now: float = 1_700_000_000.0  # [s] POSIX

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError(f"a clock does not run backwards: advance({seconds})")
        self.now += seconds
        return self.now

    def set(self, t: float) -> None:
        if t < self.now:
            raise ValueError(f"a clock does not run backwards: set({t}) before {self.now}")
        self.now = t
