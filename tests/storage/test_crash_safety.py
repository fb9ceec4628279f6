"""A crash never corrupts the database: a writer process is SIGKILLed at random moments, for real.

Each round starts ``python -c WRITER`` on the same file; it stores runs of real encounters in a loop (one
transaction to begin a run, one for its whole batch, one to finish it) and prints each run it finished.
The test kills it with SIGKILL at a random moment: while it imports and migrates, or while it writes. Then
the file must pass ``PRAGMA integrity_check``, open and upgrade again, hold every run the writer reported,
and hold every batch whole or not at all.
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from riskline.incidents.model import Encounter
from riskline.storage import WatchStore, head_revision, open_database

ROUNDS = 6
SEED = 20_201_014  # fixed, so a failing round can be replayed; the machine's noise varies the moments anyway

WRITER = """
import pickle, random, sys
from riskline.ingest.stats import IngestStats
from riskline.storage import WatchStore, open_database

path, encounter_file, seed, synchronous = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(encounter_file, "rb") as file:
    encounter = pickle.load(file)
rng = random.Random(seed)
store = WatchStore(open_database(path, synchronous=synchronous))
print("ready", flush=True)
while True:
    batch = rng.randint(50, 400)
    run_id = store.begin_run([f"round {seed}"], {"batch": batch}, 1600000000.0)
    store.save_encounters(run_id, [encounter] * batch)
    store.finish_run(run_id, IngestStats(read=batch), 1600000001.0)
    print("finished", run_id, batch, flush=True)
"""


def test_a_writer_killed_at_random_moments_leaves_a_whole_database(tmp_path: Path, real_encounter: Encounter) -> None:
    path = tmp_path / "riskline.db"
    encounter_file = tmp_path / "encounter.pickle"
    encounter_file.write_bytes(pickle.dumps(real_encounter))
    rng = random.Random(SEED)
    reported: dict[int, int] = {}  # run id → batch size, for every run the writer said it finished
    for round_number in range(ROUNDS):
        seed = SEED + round_number
        synchronous = "FULL" if round_number % 2 else "NORMAL"
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(encounter_file), str(seed), synchronous],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        if round_number % 3 == 2:
            time.sleep(rng.uniform(0.0, 1.0))  # from the start: may land while it imports or migrates
        else:
            assert writer.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.05, 0.8))  # while it writes
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate()
        assert writer.returncode == -signal.SIGKILL, f"round {round_number}: the writer died on its own"
        for line in rest.splitlines():
            if line.startswith("finished "):
                _, run_id, batch = line.split()
                reported[int(run_id)] = int(batch)
        _assert_whole(path, reported, f"round {round_number} (seed {seed}, {synchronous})")


def _assert_whole(path: Path, reported: dict[int, int], where: str) -> None:
    if not path.exists():  # killed before it created the file: nothing to check yet
        assert reported == {}, where
        return
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == [], where
    raw.close()
    with open_database(path, create=False) as db:
        assert db.revision() == head_revision(), where
        runs = {run.id: run for run in WatchStore(db).runs()}
    for run_id, batch in reported.items():
        run = runs[run_id]
        assert (run.finished, run.incidents) == (1_600_000_001.0, batch), f"{where}: run {run_id} lost data"
    for run in runs.values():
        batch = int(str(run.options["batch"]))
        assert run.incidents in (0, batch), f"{where}: run {run.id} holds {run.incidents} of a batch of {batch}"
        if run.finished is not None:
            assert run.incidents == batch, f"{where}: finished run {run.id} holds {run.incidents} of {batch}"
    assert os.access(path, os.R_OK | os.W_OK)
