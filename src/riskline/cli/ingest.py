"""``riskline ingest``: a receiver process — read traffic, decode it, publish the observations to NATS JetStream."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import typer

from riskline.ingest.observation import Observation
from riskline.ingest.sources import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.timeutil import parse_time

BATCH = 2_000
"""Observations published (and acknowledged) together."""


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)


def ingest(
    inputs: list[Path] = typer.Argument(None, help="Recorded traffic files (any format `riskline watch` reads)."),
    listen_urls: list[str] = typer.Option([], "--listen", help="Live feed to bind: tcp://HOST:PORT or udp://HOST:PORT."),
    to: str = typer.Option(..., "--to", metavar="nats://HOST:PORT", help="NATS server with JetStream to publish to."),
    start_time: str | None = typer.Option(None, "--start-time", help="Base time (ISO 8601 UTC) for input without "
                                          "absolute times (plain NMEA, Beast captures)."),
) -> None:
    """Decode traffic and publish each observation to the RISKLINE_OBSERVATIONS stream on NATS JetStream.

    Each message's id is a hash of the observation, so a receiver restarted over input it already sent, or two
    receivers hearing the same ship, add nothing twice. `riskline watch --from nats://…` consumes the stream.

    Example: riskline ingest ../shared/data/ais/test_data_20211101.nm4 --to nats://127.0.0.1:4222
    """
    from riskline.cli.watch import _streams
    from riskline.stream import OBSERVATION_STREAM, OBSERVATION_SUBJECT, JetStreamLink
    from riskline.stream.codec import encode_observation, observation_id
    from riskline.watch import in_time_order

    if not inputs and not listen_urls:
        raise typer.BadParameter("give at least one INPUT file or --listen URL", param_hint="INPUTS")
    stats = IngestStats()
    options = ReaderOptions(
        start_time=parse_time(start_time) if start_time else None,
        clock=time.time if listen_urls else None,
    )
    stop = threading.Event()
    link = JetStreamLink(to)
    published = new = 0
    batch: list[tuple[str, bytes]] = []

    def flush() -> None:
        nonlocal published, new
        if batch:
            new += link.publish(OBSERVATION_SUBJECT, batch)
            published += len(batch)
            batch.clear()

    def add(observation: Observation) -> None:
        payload = encode_observation(observation)
        batch.append((observation_id(payload), payload))
        if len(batch) >= BATCH or listen_urls:
            flush()

    try:
        for observation in in_time_order(_streams(inputs or [], listen_urls, stats, options, stop)):
            add(observation)
        flush()
    except KeyboardInterrupt:
        stop.set()
        flush()
    finally:
        counts = link.counts(OBSERVATION_STREAM)
        link.close()
    rejected = ", ".join(f"{reason} {count:,}" for reason, count in sorted(stats.rejected.items())) or "none"
    print(
        f"riskline ingest: read {stats.read:,}, published {published:,} observations to {to} "
        f"({new:,} new, {published - new:,} already in the stream); stream holds {counts.messages:,}; "
        f"rejected: {rejected}",
        file=sys.stderr,
    )
