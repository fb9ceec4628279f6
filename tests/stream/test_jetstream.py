"""Live intake over NATS JetStream: a receiver killed and restarted loses and duplicates nothing; the watch
consuming the stream finds what ``riskline watch`` finds in the file; encounters are published once; a watch
killed and restarted resumes from its checkpoint and publishes exactly what a watch that never stopped does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskline.cli.main import app
from riskline.detection.rulebook import load_rulebook
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.sources import read_path
from riskline.ingest.stats import IngestStats
from riskline.stream import (
    ENCOUNTER_STREAM,
    ENCOUNTER_SUBJECT,
    OBSERVATION_STREAM,
    OBSERVATION_SUBJECT,
    BrokerUnreachable,
    JetStreamLink,
    decode_encounter,
    decode_observation,
    encode_observation,
    observation_id,
)
from riskline.stream.checkpoint import WatchCheckpoint, load_checkpoint, settings_fingerprint
from riskline.stream.jetstream import WATCH_STATE_BUCKET
from riskline.testing.nats import NatsServer, missing_reason
from riskline.testing.nodes import free_port, wait_until

runner = CliRunner()
RISKLINE = [sys.executable, "-c", "from riskline.cli.main import main; main()"]


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with NatsServer() as server:
        yield server


@pytest.fixture(scope="module")
def baltic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("baltic")
    result = runner.invoke(app, ["scenario", "baltic", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(
    st.builds(
        Observation,
        t=finite,
        platform_id=st.text(max_size=20),
        source=st.sampled_from(["nmea", "table", "traffic"]),
        lat=st.none() | finite,
        lon=st.none() | finite,
        alt_m=st.none() | finite,
        domain=st.none() | st.sampled_from(Domain),
        kind=st.none() | st.sampled_from(Kind),
        transponder=st.booleans(),
        callsign=st.none() | st.text(max_size=8),
        ship_type=st.none() | st.integers(0, 99),
    )
)
def test_an_observation_survives_the_stream_exactly_and_its_id_is_its_content(observation: Observation) -> None:
    payload = encode_observation(observation)
    assert decode_observation(payload) == observation
    assert observation_id(payload) == observation_id(encode_observation(observation))
    assert len(observation_id(payload)) == 64


def file_observations(path: Path) -> set[bytes]:
    return {encode_observation(o) for o in read_path(path, IngestStats())}


def test_a_receiver_killed_and_restarted_loses_and_duplicates_nothing(nats_server: NatsServer, baltic: Path) -> None:
    source = baltic / "demo_positions.csv"
    expected = file_observations(source)
    command = [*RISKLINE, "ingest", str(source), "--to", nats_server.url]
    receiver = subprocess.Popen(command, stderr=subprocess.PIPE, start_new_session=True)
    with JetStreamLink(nats_server.url) as link:
        wait_until(lambda: link.counts(OBSERVATION_STREAM).messages >= 2_000, timeout=120, what="first messages")
        os.killpg(receiver.pid, signal.SIGKILL)
        receiver.wait()
        held_at_kill = link.counts(OBSERVATION_STREAM).messages
        assert 2_000 <= held_at_kill < len(expected)
        restarted = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
        assert restarted.returncode == 0, restarted.stderr
        assert f"stream holds {len(expected):,}" in restarted.stderr
        stored = link.read_all(OBSERVATION_STREAM, OBSERVATION_SUBJECT)
    assert len(stored) == len(expected)
    assert set(stored) == expected


def test_the_watch_on_the_stream_finds_what_the_watch_on_the_file_finds_and_publishes_it_once(
    nats_server: NatsServer, baltic: Path, tmp_path: Path
) -> None:
    source, fleet = baltic / "demo_positions.csv", baltic / "demo_fleet.toml"
    on_file = runner.invoke(
        app, ["watch", str(source), "--fleet", str(fleet), "--db", str(tmp_path / "f.db"), "--json"]
    )
    assert on_file.exit_code == 0, on_file.output
    ingested = runner.invoke(app, ["ingest", str(source), "--to", nats_server.url])
    assert ingested.exit_code == 0, ingested.output

    def watch_stream(durable: str, db: str) -> list[dict[str, object]]:
        result = runner.invoke(app, [
            "watch", "--from", nats_server.url, "--drain", "--durable", durable, "--fleet", str(fleet),
            "--db", str(tmp_path / db), "--json",
        ])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    first = watch_stream("first", "s1.db")
    expected = [json.loads(line) for line in on_file.stdout.splitlines()]
    assert len(expected) > 0
    assert sorted(map(json.dumps, first)) == sorted(map(json.dumps, expected))
    again = watch_stream("second", "s2.db")  # a second watch over the same stretch of the stream
    assert sorted(map(json.dumps, again)) == sorted(map(json.dumps, expected))
    with JetStreamLink(nats_server.url) as link:
        published = [decode_encounter(p) for p in link.read_all(ENCOUNTER_STREAM, ENCOUNTER_SUBJECT)]
    assert len(published) == len(expected)
    assert sorted((e.rule, e.a, e.b) for e in published) == sorted((e["rule"], e["a"], e["b"]) for e in expected)


def test_a_drained_watch_that_is_run_again_finds_nothing_new(
    nats_server: NatsServer, baltic: Path, tmp_path: Path
) -> None:
    ingested = runner.invoke(app, ["ingest", str(baltic / "demo_positions.csv"), "--to", nats_server.url])
    assert ingested.exit_code == 0, ingested.output
    arguments = ["watch", "--from", nats_server.url, "--drain", "--db", str(tmp_path / "w.db"), "--json"]
    assert runner.invoke(app, arguments).exit_code == 0
    rerun = runner.invoke(app, arguments)
    assert rerun.exit_code == 0, rerun.output
    assert rerun.stdout == ""


def test_an_unreachable_broker_is_a_one_line_error_naming_it(baltic: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    result = subprocess.run(
        [*RISKLINE, "ingest", str(baltic / "demo_positions.csv"), "--to", url],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == BrokerUnreachable.exit_code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"riskline: error: {url}: NATS server unreachable")


def test_a_live_consumer_retries_with_backoff_until_the_broker_is_back(nats_server: NatsServer) -> None:
    nats_server.kill()
    reports: list[str] = []
    delays: list[float] = []

    def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) == 4:
            nats_server.start()
        time.sleep(0.01)

    link = JetStreamLink.connect_with_retry(nats_server.url, report=reports.append, base_s=0.5, cap_s=2.0, sleep=sleep)
    link.close()
    assert delays[:4] == [0.5, 1.0, 2.0, 2.0]
    assert all(line.startswith(f"{nats_server.url}: NATS server unreachable") for line in reports)


def test_an_object_read_while_another_process_replaces_it_is_one_whole_version(nats_server: NatsServer) -> None:
    """nats-py reads an object's chunks by the id its description named; a version replaced in between has its
    chunks purged, and the read would wait for ever. The link reads it again: each read is one whole version."""
    versions = [bytes([n]) * 600_000 for n in range(4)]  # several chunks each
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys\n"
         "from riskline.stream import JetStreamLink\n"
         "from riskline.stream.jetstream import WATCH_STATE_BUCKET\n"
         "with JetStreamLink(sys.argv[1]) as link:\n"
         "    for n in range(200):\n"
         "        link.save_object(WATCH_STATE_BUCKET, 'east', bytes([n % 4]) * 600_000)\n",
         nats_server.url],
        stderr=subprocess.PIPE,
    )
    reads: list[bytes | None] = []
    with JetStreamLink(nats_server.url) as link:
        while writer.poll() is None:
            reads.append(link.load_object(WATCH_STATE_BUCKET, "east"))
    _, errors = writer.communicate()
    assert writer.returncode == 0, errors.decode()[-2000:]
    assert all(read is None or read in versions for read in reads)
    assert sum(read is not None for read in reads) > 0


@pytest.fixture(scope="module")
def uninterrupted(baltic: Path, tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The encounter stream after a watch that never stopped consumed the Baltic scenario (sorted payloads)."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    source, fleet = baltic / "demo_positions.csv", baltic / "demo_fleet.toml"
    with NatsServer() as reference:
        assert runner.invoke(app, ["ingest", str(source), "--to", reference.url]).exit_code == 0
        whole = runner.invoke(app, ["watch", "--from", reference.url, "--drain", "--fleet", str(fleet),
                                    "--db", str(tmp_path_factory.mktemp("whole") / "whole.db")])
        assert whole.exit_code == 0, whole.output
        with JetStreamLink(reference.url) as link:
            return sorted(link.read_all(ENCOUNTER_STREAM, ENCOUNTER_SUBJECT))


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_watch_stopped_mid_run_and_restarted_publishes_exactly_what_an_uninterrupted_watch_publishes(
    nats_server: NatsServer, baltic: Path, tmp_path: Path, uninterrupted: list[bytes], stop: signal.Signals
) -> None:
    """Stopped with encounters in progress (SIGKILL: anywhere; SIGTERM: between two observations, checkpointed),
    the restarted watch resumes from its checkpoint, tracks and open encounters included: the encounter stream
    then holds, byte for byte, what a watch that never stopped published, each once.

    "Mid-run" is made by the input, not by timing: the receiver first publishes the first half of the file, the
    watch is stopped once its checkpoint holds all of it, then the receiver publishes the whole file (the first
    half again is recognised as duplicates) and the watch is restarted."""
    assert len(uninterrupted) > 0
    source, fleet = baltic / "demo_positions.csv", baltic / "demo_fleet.toml"
    lines = source.read_bytes().splitlines(keepends=True)
    first_half = tmp_path / "first_half.csv"
    first_half.write_bytes(b"".join(lines[: 1 + (len(lines) - 1) // 2]))
    half = len(file_observations(first_half))
    settings = settings_fingerprint(load_rulebook(), fleet)
    assert runner.invoke(app, ["ingest", str(first_half), "--to", nats_server.url]).exit_code == 0
    command = [*RISKLINE, "watch", "--from", nats_server.url, "--durable", "east", "--fleet", str(fleet),
               "--db", str(tmp_path / "east.db"), "--checkpoint-s", "0"]
    with (tmp_path / "first.err").open("wb") as errors:
        watcher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)
    with JetStreamLink(nats_server.url) as link:

        def checkpoint() -> WatchCheckpoint | None:
            saved = link.load_object(WATCH_STATE_BUCKET, "east")
            return None if saved is None else load_checkpoint(saved, settings=settings, name="east")

        def holds_the_first_half() -> bool:
            assert watcher.poll() is None, (tmp_path / "first.err").read_text()[-2000:]
            taken = checkpoint()
            return taken is not None and taken.observation_seq == half

        try:
            wait_until(holds_the_first_half, timeout=300, interval=0.2, what="a checkpoint of the first half")
        finally:  # never leave the watch running behind a failed wait
            os.killpg(watcher.pid, stop)
        assert watcher.wait(timeout=120) == (-signal.SIGKILL if stop is signal.SIGKILL else 0)
        at_stop = checkpoint()
        assert at_stop is not None
        assert at_stop.observation_seq == half
        assert at_stop.watch.tracker.open_count > 0  # encounters in progress when it stopped
    assert runner.invoke(app, ["ingest", str(source), "--to", nats_server.url]).exit_code == 0
    if stop is signal.SIGTERM:
        assert "riskline watch: stopped (SIGTERM) after observation" in (tmp_path / "first.err").read_text()
    restarted = subprocess.run([*command, "--drain"], capture_output=True, text=True, check=False, timeout=600)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert f"riskline watch: consumer 'east' resumes after observation {at_stop.observation_seq:,}" in restarted.stderr
    with JetStreamLink(nats_server.url) as link:
        published = sorted(link.read_all(ENCOUNTER_STREAM, ENCOUNTER_SUBJECT))
    assert published == uninterrupted
    other_rules = subprocess.run([*command, "--drain", "--set", "watch.tick_s=4"], capture_output=True, text=True,
                                 check=False, timeout=300)
    assert other_rules.returncode == 2
    assert other_rules.stderr.strip().splitlines() == [
        "riskline: error: checkpoint 'east' was taken under another rulebook or fleet: resume with those, "
        "or start a new consumer (--durable NAME)"
    ]
