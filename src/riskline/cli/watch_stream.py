"""``riskline watch --from nats://…``: the watch as a consumer of the observation stream.

A durable pull consumer (``--durable``, default ``riskline-watch``) reads RISKLINE_OBSERVATIONS in order; each
batch is fed to the same ``Watch`` that reads files, the encounters it closes are stored (``--db``), published
to RISKLINE_ENCOUNTERS (id = pair, rule, start: never twice) and printed (``--json``), and only then is the
batch acknowledged. ``--drain`` stops once the consumer has caught up with the stream (a batch job over what
the stream holds); without it the watch runs until interrupted and, if the broker goes away, reconnects with
backoff. A killed watch restarts from its last acknowledged batch with empty tracks: encounters that were
open when it died are found again from the data still to come (see docs/scaling.md).
"""

from __future__ import annotations

import json
import sys

from rich.console import Console

from riskline.incidents.model import Encounter
from riskline.incidents.report import encounter_json
from riskline.storage.watch_run import RecordedRun
from riskline.watch import Watch

FETCH_BATCH = 1_000
FETCH_WAIT_S = 1.0  # [s] how long one fetch waits for messages before the loop looks again


def watch_from_stream(
    url: str, engine: Watch, run: RecordedRun, *, durable: str, drain: bool, as_json: bool
) -> None:
    from riskline.stream import (
        ENCOUNTER_SUBJECT,
        OBSERVATION_STREAM,
        OBSERVATION_SUBJECT,
        BrokerUnreachable,
        JetStreamLink,
    )
    from riskline.stream.codec import decode_observation, encode_encounter, encounter_id
    from riskline.stream.errors import BadStreamMessage

    err = Console(stderr=True)
    if drain:
        link = JetStreamLink(url)
    else:
        link = JetStreamLink.connect_with_retry(url, report=lambda line: err.print(f"riskline watch: {line}"))
    stats = run.outcome.stats
    consumer = link.consumer(OBSERVATION_STREAM, OBSERVATION_SUBJECT, durable)

    def emit(closed: list[Encounter]) -> None:
        if not run.record(closed):
            return
        link.publish(ENCOUNTER_SUBJECT, [(encounter_id(e), encode_encounter(e)) for e in closed])
        if as_json:
            for encounter in closed:
                sys.stdout.write(json.dumps(encounter_json(encounter)) + "\n")
            sys.stdout.flush()

    try:
        while True:
            try:
                delivered = consumer.fetch(FETCH_BATCH, timeout_s=FETCH_WAIT_S)
            except BrokerUnreachable as error:
                err.print(f"riskline watch: {error}; reconnecting")
                continue
            if not delivered:
                if drain and consumer.pending() == 0:
                    break
                continue
            for message in delivered:
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
        emit(engine.finish())
    except KeyboardInterrupt:
        emit(engine.finish())
    finally:
        link.close()
