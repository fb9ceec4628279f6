"""Replay a recording or a scenario through the watch into the dashboard, paced on the wall clock.

The watch runs exactly as it does live (``riskline.watch.Watch`` on data time); this only decides *when* each
observation is fed: data time ``t`` is fed at ``wall_start + (t - t_first) / speed``. After every tick of the
watch the dashboard gets the frame of live platforms and the open encounters; closed encounters are stored
first (``RecordedRun``, the same path as ``riskline watch``) so the alarm can name the stored incident.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from riskline.ingest.observation import Observation
from riskline.storage.watch_run import RecordedRun
from riskline.storage.watch_store import END_OF_INPUT
from riskline.watch import Watch
from riskline.web.backend import Dashboard
from riskline.web.errors import BadRequest
from riskline.web.live import frame_from_snapshot


def replay(
    dashboard: Dashboard,
    observations: Sequence[Observation],
    watch: Watch,
    *,
    speed: float,
    stop: threading.Event,
    inputs: Sequence[str] = ("replay",),
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Feed ``observations`` (in time order) at ``speed`` × real time; returns how many incidents were stored.

    What the watch finds is stored through the dashboard's own database (a node's: its connections seal the
    rows); a replay stopped before its end is recorded as stopped."""
    if speed <= 0:
        raise BadRequest(f"speed: must be positive, not {speed:g}")
    if not observations:
        return 0
    run = RecordedRun(dashboard.database, list(inputs), watch)
    stored = 0
    ended_by = "replay stopped"
    try:
        t_first, wall_start = observations[0].t, clock()
        last_tick = None
        for observation in observations:
            due = wall_start + (observation.t - t_first) / speed
            wait = due - clock()
            if wait > 0 and stop.wait(wait):
                break
            closed = run.record(watch.feed(observation))
            tick = watch.status().t
            if tick is not None and tick != last_tick:  # the picture as of this report: every fix up to it
                last_tick = tick
                stored += _publish(dashboard, watch, run, closed, observation.t)
        else:
            closed = run.record(watch.finish())
            stored += _publish(dashboard, watch, run, closed, observations[-1].t)
            ended_by = END_OF_INPUT
    finally:
        run.close(ended_by=ended_by)
    return stored


def _publish(dashboard: Dashboard, watch: Watch, run: RecordedRun, closed: list, t: float) -> int:  # type: ignore[type-arg]
    ids = run.outcome.incident_ids[len(run.outcome.incident_ids) - len(closed) :]
    frame = frame_from_snapshot(watch.tracks.snapshot(t))
    dashboard.observe(frame, watch.tracker.open_encounters(), list(zip(ids, closed, strict=True)))
    return len(closed)


class ReplayThread:
    """``replay`` in a daemon thread; ``stop()`` ends it at the next observation."""

    def __init__(self, target: Callable[[threading.Event], int]) -> None:
        self._stop = threading.Event()
        self.stored: int | None = None
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(target,), name="dashboard-replay", daemon=True)

    def _run(self, target: Callable[[threading.Event], int]) -> None:
        try:
            self.stored = target(self._stop)
        except BaseException as error:  # reported by whoever waits on it; the server keeps serving
            self.error = error
        finally:
            self.finished.set()

    def start(self) -> ReplayThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
