"""Live feeds over real loopback sockets: several TCP feeders, UDP senders, stop, and bad URLs."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_support import balanced, lines_of

from riskline.ingest.errors import InvalidOptionError, UnreadableInputError
from riskline.ingest.live import LiveListener, listen, parse_listen_url
from riskline.ingest.nmea import read_nmea
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import read_sbs
from riskline.ingest.stats import IngestStats
from riskline.testing.clock import FakeClock


class Running:
    """A listener consumed on a background thread."""

    def __init__(self, url: str, options: ReaderOptions) -> None:
        self.stats = IngestStats()
        self.stop = threading.Event()
        self.listener = LiveListener(url, self.stats, options=options, stop=self.stop)
        self.address = self.listener.bind()
        self.observations: list[Observation] = []
        self.thread = threading.Thread(target=lambda: self.observations.extend(self.listener.observations()))
        self.thread.start()

    def wait_until(self, done: Callable[[IngestStats], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not done(self.stats) and time.monotonic() < deadline:
            time.sleep(0.01)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10.0)
        assert not self.thread.is_alive()


def _file_stats(reader: Callable[..., object], path: Path, options: ReaderOptions) -> IngestStats:
    stats = IngestStats()
    list(reader(lines_of(path), stats, options))  # type: ignore[call-overload]
    return stats


def test_two_tcp_feeders_in_different_formats_are_each_sniffed_and_decoded(
    ais_dir: Path, fixtures_dir: Path
) -> None:
    options = ReaderOptions(clock=FakeClock())
    nmea, sbs = ais_dir / "test_data_20211101.nm4", fixtures_dir / "full_flight_excerpt.sbs"
    expected_nmea = _file_stats(read_nmea, nmea, options)
    expected_sbs = _file_stats(read_sbs, sbs, options)
    running = Running("tcp://127.0.0.1:0", options)
    with socket.create_connection(running.address) as first, socket.create_connection(running.address) as second:
        data = nmea.read_bytes()
        first.sendall(data[:5000])
        second.sendall(sbs.read_bytes())
        first.sendall(data[5000:])
    total = expected_nmea.read + expected_sbs.read
    running.wait_until(lambda stats: stats.read >= total)
    running.finish()
    assert running.stats.read == total
    assert running.stats.observations == expected_nmea.observations + expected_sbs.observations
    assert running.stats.bytes_read == expected_nmea.bytes_read + expected_sbs.bytes_read
    assert len(running.observations) == running.stats.observations
    assert {o.source for o in running.observations} == {"nmea", "sbs"}
    assert balanced(running.stats)


def test_udp_datagrams_are_read_line_by_line_with_the_clock_for_untimed_sentences(ais_dir: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    running = Running("udp://127.0.0.1:0", ReaderOptions(clock=clock))
    lines = list(lines_of(ais_dir / "pyais_gatehouse.nmea"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for line in lines:
            sender.sendto(line, running.address)
    running.wait_until(lambda stats: stats.read >= 9)
    running.finish()
    assert (running.stats.read, running.stats.accepted, running.stats.observations) == (9, 8, 4)
    assert running.stats.rejected == {"bad_checksum": 1}
    assert [o.t for o in running.observations][1] == 1_700_000_000.0


def test_stop_flushes_an_unfinished_multi_sentence_message() -> None:
    running = Running("tcp://127.0.0.1:0", ReaderOptions(clock=FakeClock()))
    with socket.create_connection(running.address) as feeder:
        feeder.sendall(b"!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n")
        time.sleep(0.3)
        running.finish()
    assert running.stats.rejected == {"incomplete_multipart": 1}
    assert balanced(running.stats)


def test_lines_before_the_format_is_known_are_counted() -> None:
    running = Running("tcp://127.0.0.1:0", ReaderOptions(clock=FakeClock()))
    with socket.create_connection(running.address) as feeder:
        feeder.sendall(b"# hello\n\nnot a sentence\n!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30")
    running.wait_until(lambda stats: stats.read >= 3)
    running.finish()
    assert (running.stats.read, running.stats.accepted, running.stats.observations) == (3, 2, 1)
    assert running.stats.rejected == {"malformed": 1}


GOOD_SENTENCE = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n"


def test_an_overlong_line_is_counted_once_and_skipped_as_it_streams_past() -> None:
    running = Running("tcp://127.0.0.1:0", ReaderOptions(clock=FakeClock(), max_line_bytes=1000))
    with socket.create_connection(running.address) as feeder:
        feeder.sendall(GOOD_SENTENCE)
        for _ in range(5):  # one line of 5,000 zero bytes, sent in pieces
            feeder.sendall(b"\0" * 1000)
            time.sleep(0.02)
        feeder.sendall(b"\n" + GOOD_SENTENCE + b"x" * 1500 + b"\n" + GOOD_SENTENCE)
    running.wait_until(lambda stats: stats.read >= 5)
    running.finish()
    assert running.stats.rejected == {"line_too_long": 2}
    assert (running.stats.read, running.stats.observations) == (5, 3)
    assert running.stats.bytes_read == 3 * len(GOOD_SENTENCE) + 5001 + 1501
    assert balanced(running.stats)


def test_an_overlong_datagram_line_is_counted() -> None:
    running = Running("udp://127.0.0.1:0", ReaderOptions(clock=FakeClock(), max_line_bytes=100))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(b"y" * 500, running.address)
        sender.sendto(GOOD_SENTENCE, running.address)
    running.wait_until(lambda stats: stats.read >= 2)
    running.finish()
    assert running.stats.rejected == {"line_too_long": 1}
    assert running.stats.observations == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:80", "tcp://127.0.0.1", "tcp://127.0.0.1:70000", "udp:/x:1"])
def test_a_bad_url_is_one_line(url: str) -> None:
    with pytest.raises(InvalidOptionError) as raised:
        listen(url, IngestStats(), options=ReaderOptions())
    assert str(raised.value) == f"bad listen URL {url!r}: expected tcp://HOST:PORT or udp://HOST:PORT"


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UnreadableInputError) as raised:
            listen(f"tcp://127.0.0.1:{port}", IngestStats(), options=ReaderOptions())
    assert str(raised.value) == f"tcp://127.0.0.1:{port}: cannot listen: Address already in use"


def test_urls_name_protocol_host_and_port() -> None:
    address = parse_listen_url("udp://[::1]:10110")
    assert (address.protocol, address.host, address.port) == ("udp", "::1", 10110)
    assert parse_listen_url("tcp://:30003").host == "0.0.0.0"


@pytest.mark.skipif(sys.platform != "linux", reason="SO_RXQ_OVFL is Linux's")
def test_udp_datagrams_the_kernel_dropped_are_counted_and_every_one_sent_is_read_or_counted() -> None:
    sentence = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n"
    stats, stop = IngestStats(), threading.Event()
    listener = LiveListener("udp://127.0.0.1:0", stats, options=ReaderOptions(clock=FakeClock()), stop=stop)
    address = listener.bind()
    sent = 60_000  # far more than the receive buffer holds (at most 8 MiB, about 1 KiB each)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:  # nobody reads yet: the buffer fills up
        for _ in range(sent):
            sender.sendto(sentence, address)
    observations: list[Observation] = []
    reader = threading.Thread(target=lambda: observations.extend(listener.observations()))
    reader.start()
    deadline = time.monotonic() + 60
    while stats.read + stats.dropped_by_kernel < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    reader.join(timeout=10)
    assert stats.dropped_by_kernel > 0
    assert stats.read + stats.dropped_by_kernel == sent
    assert stats.accepted == stats.read == len(observations)
    assert stats.as_dict()["dropped_by_kernel"] == stats.dropped_by_kernel


def test_on_stop_the_datagrams_already_received_are_read_not_lost() -> None:
    sentence = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n"
    stats, stop = IngestStats(), threading.Event()
    listener = LiveListener("udp://127.0.0.1:0", stats, options=ReaderOptions(clock=FakeClock()), stop=stop)
    address = listener.bind()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for _ in range(50):
            sender.sendto(sentence, address)
    stop.set()  # before a single datagram was read
    observations = list(listener.observations())
    assert (stats.read, stats.accepted, stats.dropped_by_kernel, len(observations)) == (50, 50, 0, 50)


def test_a_udp_listener_closed_without_a_stop_counts_what_it_had_not_read() -> None:
    sentence = b"!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n"
    stats = IngestStats()
    listener = LiveListener("udp://127.0.0.1:0", stats, options=ReaderOptions(clock=FakeClock()))
    address = listener.bind()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for _ in range(7):
            sender.sendto(sentence * 2, address)
    listener.close()  # as when Ctrl-C lands inside the listener
    assert (stats.read, stats.rejected, stats.dropped_by_kernel) == (14, {"unread_at_stop": 14}, 0)
    assert balanced(stats)
