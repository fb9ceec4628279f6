"""One watch run recorded as it goes: its run row first, encounters as they close, identities and stats last.

Used by ``riskline watch`` and by the demo alike, so a run is stored one way whoever runs it. The clock is a
parameter (wall time by default): it stamps the run's start and end, never the data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from riskline.incidents.model import Encounter
from riskline.ingest.stats import IngestStats
from riskline.storage.engine import Database, open_database
from riskline.storage.transparency_store import save_activity
from riskline.storage.watch_store import END_OF_INPUT, WatchStore
from riskline.watch import Watch


@dataclass(slots=True)
class WatchOutcome:
    encounters: list[Encounter] = field(default_factory=list)
    stats: IngestStats = field(default_factory=IngestStats)
    incident_ids: list[int] = field(default_factory=list)
    run_id: int | None = None


class RecordedRun:
    """One watch run stored as it goes: its run row first, encounters as they close, identities and stats last."""

    def __init__(
        self, db: Path | str | Database, inputs: list[str], watch: Watch, clock: Callable[[], float] = time.time
    ) -> None:
        """``db``: a path or URL to open (and close at the end), or an open ``Database`` the caller keeps, such
        as a node's, whose connections seal what is written (``storage/seals.py``)."""
        self.watch = watch
        self._clock = clock
        self._owns_database = not isinstance(db, Database)
        self._database = db if isinstance(db, Database) else open_database(db)
        self._store = WatchStore(self._database)
        run_id = self._store.begin_run(inputs, {"rulebook": watch.rulebook.as_dict()}, clock())
        self.outcome = WatchOutcome(run_id=run_id)

    @property
    def where(self) -> str:
        """The database, as error messages name it (a path, or a URL without its password)."""
        return self._database.where

    def record(self, closed: list[Encounter]) -> list[Encounter]:
        """Store the encounters that just closed; return them."""
        if closed:
            assert self.outcome.run_id is not None
            self.outcome.encounters.extend(closed)
            self.outcome.incident_ids.extend(self._store.save_encounters(self.outcome.run_id, closed))
        return closed

    def close(self, *, ended_by: str = END_OF_INPUT) -> None:
        """Store the identities and the stats, and mark the run finished (``ended_by``: what interrupted it)."""
        assert self.outcome.run_id is not None
        try:
            self._store.save_identities(self.watch.identities(), self._clock())
            save_activity(self._database, self.outcome.run_id, self.watch.activity.activity())
            self._store.finish_run(self.outcome.run_id, self.outcome.stats, self._clock(), ended_by=ended_by)
        finally:
            if self._owns_database:
                self._database.close()
