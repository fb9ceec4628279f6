"""``riskline watch --from nats://…``: the watch as a resumable consumer of the observation stream.

A durable pull consumer (``--durable``, default ``riskline-watch``) reads RISKLINE_OBSERVATIONS in order; each
batch is fed to the same ``Watch`` that reads files, the encounters it closes are stored (``--db``), published
to RISKLINE_ENCOUNTERS (id = pair, rule, start: never twice) and printed (``--json``).

Restarts lose nothing: every ``--checkpoint-s`` seconds (after a whole batch) the watch itself is saved in the
object store RISKLINE_WATCH_STATE under the consumer's name, with the stream sequence of the last observation
it took (``stream/checkpoint.py``). A watch that starts finds its checkpoint, takes the saved watch — tracks,
open encounters and all — and recreates its durable consumer from the next sequence: killed at any moment
(SIGKILL included), it goes on as if it had never stopped. The encounters it closes again (those the dead
watch closed after its last checkpoint) are on the encounter stream already: it publishes, stores and prints
none of them twice. SIGINT and SIGTERM stop it between two observations, checkpointed, with its encounters
still open (a restart closes them as an uninterrupted watch would).

``--drain`` stops once the consumer has caught up with the stream: it checkpoints, then finishes the watch
(closing what is open, as ``riskline watch FILE`` does at the end of its input). Without it the watch runs
until stopped and, if the broker goes away, reconnects with backoff. See docs/scaling.md.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from riskline.incidents.model import Encounter
from riskline.incidents.report import encounter_json
from riskline.storage.engine import Database
from riskline.storage.watch_run import RecordedRun, WatchOutcome
from riskline.storage.watch_store import END_OF_INPUT
from riskline.timeutil import to_iso
from riskline.watch import Watch

FETCH_BATCH = 1_000
FETCH_WAIT_S = 1.0  # [s] how long one fetch waits for messages before the loop looks again
CHECKPOINT_S = 5.0  # [s] wall time between checkpoints (a restart replays at most this much, plus one batch)


@dataclass(frozen=True, slots=True)
class StreamWatch:
    """What a stream watch leaves: its recorded run and the watch it ran (restored from a checkpoint or new)."""

    outcome: WatchOutcome
    engine: Watch
    where: str
    ended_by: str


def watch_from_stream(
    url: str,
    database: Database | Path | str,
    engine: Watch,
    *,
    settings: str,
    durable: str,
    drain: bool,
    as_json: bool,
    checkpoint_s: float = CHECKPOINT_S,
) -> StreamWatch:
    """Consume the observation stream from ``durable``'s checkpoint (or its start, with ``engine``)."""
    from riskline.stream import (
        ENCOUNTER_STREAM,
        ENCOUNTER_SUBJECT,
        OBSERVATION_STREAM,
        OBSERVATION_SUBJECT,
        JetStreamLink,
    )
    from riskline.stream.checkpoint import WatchCheckpoint, dump_checkpoint, load_checkpoint
    from riskline.stream.codec import decode_observation, encode_encounter, encounter_id
    from riskline.stream.errors import BadStreamMessage, BrokerUnreachable, StreamError
    from riskline.stream.jetstream import WATCH_STATE_BUCKET

    err = Console(stderr=True)
    if drain:
        link = JetStreamLink(url)
    else:
        link = JetStreamLink.connect_with_retry(url, report=lambda line: err.print(f"riskline watch: {line}"))
    try:
        saved = link.load_object(WATCH_STATE_BUCKET, durable)
        if saved is None:
            taken = 0
            on_stream: set[str] = set()
            ours: set[str] = set()
        else:
            checkpoint = load_checkpoint(saved, settings=settings, name=durable)
            engine, taken = checkpoint.watch, checkpoint.observation_seq
            since = link.published_since(ENCOUNTER_STREAM, ENCOUNTER_SUBJECT, checkpoint.encounter_seq)
            on_stream = {p.message_id for p in since}
            ours = {p.message_id for p in since if p.publisher == durable}
            status = engine.status()
            err.print(
                f"riskline watch: consumer {durable!r} resumes after observation {taken:,} "
                f"({'—' if status.t is None else to_iso(status.t)}) with {status.tracks:,} tracks and "
                f"{status.open_encounters:,} open encounters"
            )
        first = link.counts(OBSERVATION_STREAM).first_seq
        if taken and first > taken + 1:
            err.print(f"riskline watch: observations {taken + 1:,}–{first - 1:,} aged out of the stream before "
                      "this consumer resumed; going on from the first it still holds")

        saved_through = taken

        def save() -> None:
            nonlocal saved_through
            state = WatchCheckpoint(taken, link.counts(ENCOUNTER_STREAM).last_seq, settings, engine)
            link.save_object(WATCH_STATE_BUCKET, durable, dump_checkpoint(state))
            saved_through = taken

        if saved is None:
            save()  # the start is a checkpoint too: anything published after it is this watch's
        run = RecordedRun(database, [url], engine)
        stats = run.outcome.stats

        def emit(closed: list[Encounter]) -> None:
            if not closed:
                return
            new = run.record([e for e in closed if encounter_id(e) not in ours])  # the dead watch's are stored
            unpublished = [e for e in closed if encounter_id(e) not in on_stream]
            if unpublished:
                link.publish(ENCOUNTER_SUBJECT, [(encounter_id(e), encode_encounter(e)) for e in unpublished],
                             publisher=durable)
            if as_json and new:
                for encounter in new:
                    sys.stdout.write(json.dumps(encounter_json(encounter)) + "\n")
                sys.stdout.flush()

        consumer = link.consumer(OBSERVATION_STREAM, OBSERVATION_SUBJECT, durable, first_seq=taken + 1)
        ended_by = END_OF_INPUT
        checkpointed = time.monotonic()
        with _stop_signals() as stopping:
            try:
                while not stopping.is_set():
                    try:
                        delivered = consumer.fetch(FETCH_BATCH, timeout_s=FETCH_WAIT_S)
                    except BrokerUnreachable as error:
                        err.print(f"riskline watch: {error}; reconnecting")
                        continue
                    if not delivered:
                        if drain and consumer.pending() == 0:
                            break
                        if taken == saved_through:
                            continue  # idle, and the checkpoint holds everything read
                    for message in delivered:
                        if stopping.is_set():
                            break
                        if message.stream_seq <= taken:
                            continue  # delivered again (ack wait passed): the watch has it already
                        taken = message.stream_seq
                        stats.read += 1
                        stats.bytes_read += len(message.payload)
                        try:
                            observation = decode_observation(message.payload)
                        except BadStreamMessage:
                            stats.reject("bad_stream_message")
                            continue
                        stats.accepted += 1
                        stats.observations += 1
                        emit(engine.feed(observation))
                    consumer.ack(delivered)
                    if time.monotonic() - checkpointed >= checkpoint_s or not delivered:
                        try:
                            save()
                        except StreamError as error:  # an older checkpoint is still exact: it replays more
                            err.print(f"riskline watch: {error}; the next checkpoint will try again")
                        checkpointed = time.monotonic()
                save()
                if stopping.is_set():
                    ended_by = stopping.reason
                    status = engine.status()
                    err.print(
                        f"riskline watch: stopped ({ended_by}) after observation {taken:,}, checkpointed with "
                        f"{status.open_encounters:,} open encounters: `riskline watch --from {url} --durable "
                        f"{durable}` resumes them"
                    )
                else:
                    emit(engine.finish())
            finally:
                run.close(ended_by=ended_by)
        return StreamWatch(run.outcome, engine, run.where, ended_by)
    finally:
        link.close()


class _Stopping(threading.Event):
    reason = ""


@contextmanager
def _stop_signals() -> Iterator[_Stopping]:
    """SIGINT and SIGTERM set the event (the loop stops between two observations); handlers restored after."""
    stopping = _Stopping()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return

    def on_signal(signum: int, frame: object) -> None:
        stopping.reason = signal.Signals(signum).name
        stopping.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
