"""Live feeds: listen on TCP or UDP for AIS NMEA or SBS-1 text, from as many feeders as connect.

``listen("tcp://0.0.0.0:10110", stats, options=...)`` binds at once (a bad URL or a port in use raises
then, one line) and returns an iterator of observations that runs until ``stop`` is set or the iterator is
closed. TCP: every accepted connection is its own feed; UDP: every sender address is. Each feed picks its
format from its first meaningful line (NMEA or SBS; lines before that which are neither are ``malformed``)
and keeps its own decoder, so multi-sentence AIS groups never mix feeders. A feed that closes is flushed
(its incomplete groups counted); on ``stop`` the datagrams already received are read, every feed is flushed
and its last observations yielded.

UDP loses datagrams when they arrive faster than they are read: the kernel drops them once the socket's receive
buffer is full, and nothing tells the sender. The listener asks for a large buffer (``UDP_RECEIVE_BUFFER``) and
counts what the kernel dropped in ``IngestStats.dropped_by_kernel``, which ``riskline watch`` reports: on Linux
each datagram carries the socket's running drop count as it stood when the datagram was queued
(``SO_RXQ_OVFL``), and whenever the socket is idle, and at the end, the count is read from ``/proc/net/udp``
(the datagrams queued before a burst of drops carry the older count; the idle look catches the rest). TCP is
the recommended feed: it loses nothing (a slow reader slows the sender).

Time: a message's own time when it has one, else ``options.clock()``, which defaults here, at the edge,
to ``time.time``. This is the one place in ingest that may read the wall clock.
"""

from __future__ import annotations

import dataclasses
import os
import re
import selectors
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from riskline.ingest.counting import Decoder
from riskline.ingest.errors import InvalidOptionError, UnreadableInputError
from riskline.ingest.nmea import NmeaDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import SbsDecoder
from riskline.ingest.sniff import line_format
from riskline.ingest.stats import IngestStats

POLL_INTERVAL = 0.2  # [s] how often the loop looks at ``stop``
UDP_RECEIVE_BUFFER = 4 << 20  # [bytes] asked for (the kernel caps it at net.core.rmem_max)
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)
"""Linux socket option (include/uapi/asm-generic/socket.h): each datagram carries the socket's drop count."""
_DROP_COUNT = struct.Struct("=I")
_ANCILLARY = socket.CMSG_SPACE(_DROP_COUNT.size)
_URL = re.compile(r"(?P<protocol>tcp|udp)://(?P<host>\[[^\]]*\]|[^:/\[\]]*):(?P<port>\d{1,5})/?")


@dataclass(frozen=True, slots=True)
class ListenAddress:
    protocol: str
    """``tcp`` or ``udp``."""
    host: str
    port: int


def parse_listen_url(url: str) -> ListenAddress:
    """``tcp://HOST:PORT`` or ``udp://HOST:PORT`` (IPv6 hosts in brackets); raises ``InvalidOptionError``."""
    match = _URL.fullmatch(url.strip())
    port = int(match.group("port")) if match else -1
    if match is None or not 0 <= port <= 65535:
        raise InvalidOptionError(f"bad listen URL {url!r}: expected tcp://HOST:PORT or udp://HOST:PORT")
    host = match.group("host").strip("[]") or "0.0.0.0"
    return ListenAddress(match.group("protocol"), host, port)


class _Feed:
    """One feeder: its partial line, and its decoder once the first line told the format."""

    __slots__ = ("decoder", "rest", "skipping")

    def __init__(self) -> None:
        self.rest = b""
        self.decoder: Decoder | None = None
        self.skipping = False
        """An overlong line was counted and its rest is being skipped up to its newline."""


class LiveListener:
    """A bound TCP or UDP socket turning feeders' lines into observations; ``listen`` wraps it."""

    def __init__(
        self, url: str, stats: IngestStats, *, options: ReaderOptions, stop: threading.Event | None = None
    ) -> None:
        self.target = parse_listen_url(url)
        self._stats = stats
        clock = options.clock if options.clock is not None else time.time
        self._options = dataclasses.replace(options, clock=clock)
        self._stop = stop if stop is not None else threading.Event()
        self._selector = selectors.DefaultSelector()
        self._server: socket.socket | None = None
        self._feeds: dict[object, _Feed] = {}
        self._drops_seen = 0
        """The kernel's drop count of the UDP socket when last read (it only grows, from 0 at creation)."""

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) actually bound: the port is the ephemeral one when 0 was asked."""
        if self._server is None:
            raise InvalidOptionError("the listener is not bound yet")
        host, port = self._server.getsockname()[:2]
        return str(host), int(port)

    def bind(self) -> tuple[str, int]:
        family = socket.AF_INET6 if ":" in self.target.host else socket.AF_INET
        kind = socket.SOCK_STREAM if self.target.protocol == "tcp" else socket.SOCK_DGRAM
        server = socket.socket(family, kind)
        try:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((self.target.host, self.target.port))
            if kind == socket.SOCK_STREAM:
                server.listen(16)
            else:
                server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
                if sys.platform == "linux":
                    server.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
            server.setblocking(False)
        except OSError as error:
            server.close()
            reason = error.strerror or str(error)
            raise UnreadableInputError(
                f"{self.target.protocol}://{self.target.host}:{self.target.port}: cannot listen: {reason}"
            ) from None
        self._server = server
        self._selector.register(server, selectors.EVENT_READ, data=None)
        return self.address

    def _decoder_for(self, line: bytes) -> Decoder | None:
        text = line.decode("utf-8", "replace").strip()
        if not text:
            self._stats.bytes_read += len(line)
            return None
        fmt = line_format(text)
        if fmt is None:
            self._stats.bytes_read += len(line)
            self._stats.read += 1
            if text.startswith("#"):
                self._stats.accepted += 1
            else:
                self._stats.reject("malformed")
            return None
        if fmt == "nmea":
            return NmeaDecoder(self._stats, self._options)
        return SbsDecoder(self._stats, self._options)

    def _line(self, feed: _Feed, line: bytes, out: list[Observation]) -> None:
        if feed.decoder is None:
            feed.decoder = self._decoder_for(line)
            if feed.decoder is None:
                return
        produced = feed.decoder.feed(line)
        if produced:
            out.extend(produced)

    def _data(self, feed: _Feed, data: bytes, out: list[Observation], *, whole: bool) -> None:
        """Feed complete lines; keep a partial last line for the next data unless ``whole`` (a datagram).

        A line longer than ``options.max_line_bytes`` is one unit rejected as ``line_too_long`` (as in files):
        counted once, when it passes the limit, and skipped up to its newline, so memory stays bounded."""
        limit = self._options.max_line_bytes
        if feed.skipping:
            end = data.find(b"\n")
            self._stats.bytes_read += len(data) if end < 0 else end + 1
            if end < 0:
                return
            feed.skipping = False
            data = data[end + 1 :]
        lines = (feed.rest + data).split(b"\n")
        tail = lines.pop()
        for line in lines:
            if len(line) > limit:
                self._overlong(len(line) + 1)
            else:
                self._line(feed, line + b"\n", out)
        feed.rest = tail
        if len(tail) > limit:
            self._overlong(len(tail))
            feed.rest = b""
            feed.skipping = not whole
        elif whole:
            feed.rest = b""
            if tail:
                self._line(feed, tail, out)

    def _overlong(self, size: int) -> None:
        self._stats.bytes_read += size
        self._stats.read += 1
        self._stats.reject("line_too_long")

    def _finish(self, feed: _Feed, out: list[Observation]) -> None:
        if feed.rest:
            rest, feed.rest = feed.rest, b""
            self._line(feed, rest, out)
        if feed.decoder is not None:
            out.extend(feed.decoder.flush())

    def _serve(self, out: list[Observation]) -> None:
        ready = self._selector.select(timeout=POLL_INTERVAL)
        if not ready:
            self._look_at_proc()
        for key, _ in ready:
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if key.data is None and self.target.protocol == "tcp":
                try:
                    connection, _ = sock.accept()
                except OSError:
                    continue
                connection.setblocking(False)
                self._feeds[connection] = _Feed()
                self._selector.register(connection, selectors.EVENT_READ, data=connection)
            elif key.data is None:
                self._datagram(sock, out)
            else:
                try:
                    data = sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                feed = self._feeds[sock]
                if data:
                    self._data(feed, data, out, whole=False)
                else:
                    self._finish(feed, out)
                    del self._feeds[sock]
                    self._selector.unregister(sock)
                    sock.close()

    def _datagram(self, sock: socket.socket, out: list[Observation]) -> bool:
        """Read one datagram if one is there; False when none is."""
        try:
            datagram, ancillary, _flags, sender = sock.recvmsg(65535, _ANCILLARY)
        except OSError:
            return False
        self._count_drops(ancillary)
        feed = self._feeds.setdefault(sender, _Feed())
        self._data(feed, datagram, out, whole=True)
        return True

    def _count_drops(self, ancillary: list[tuple[int, int, bytes]]) -> None:
        """Add to ``dropped_by_kernel`` what the kernel dropped since the last datagram (``SO_RXQ_OVFL``)."""
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(data) >= _DROP_COUNT.size:
                self._drops_now(_DROP_COUNT.unpack_from(data)[0])

    def _drops_now(self, total: int) -> None:
        """The kernel's drop count of the socket is ``total``: count what is new (it only grows)."""
        if total > self._drops_seen:
            self._stats.dropped_by_kernel += total - self._drops_seen
            self._drops_seen = total

    def _look_at_proc(self) -> None:
        """Read the UDP socket's drop count from ``/proc/net/udp`` (or ``udp6``), where Linux shows it."""
        if self._server is None or self.target.protocol != "udp" or sys.platform != "linux":
            return
        total = kernel_drops(self._server)
        if total is not None:
            self._drops_now(total)

    def observations(self) -> Iterator[Observation]:
        """Observations as they arrive, until ``stop`` is set (then every feed is flushed) or closed."""
        if self._server is None:
            self.bind()
        try:
            while not self._stop.is_set():
                out: list[Observation] = []
                self._serve(out)
                yield from out
            out = []
            if self.target.protocol == "udp" and self._server is not None:  # what arrived before the stop
                while self._datagram(self._server, out):
                    pass
            self._look_at_proc()
            for feed in self._feeds.values():
                self._finish(feed, out)
            self._feeds.clear()
            yield from out
        finally:
            self.close()

    def close(self) -> None:
        """Close the listening socket and every connection (feeds not yet flushed are dropped uncounted). A UDP
        socket's books are closed first: the kernel's drop count, and the lines of datagrams received but not
        read (interrupted, not stopped) counted as read and rejected ``unread_at_stop``."""
        self._look_at_proc()
        if self.target.protocol == "udp" and self._server is not None:
            while True:
                try:
                    datagram = self._server.recv(65535)
                except OSError:
                    break
                lines = sum(1 for line in datagram.split(b"\n") if line.strip())
                self._stats.bytes_read += len(datagram)
                self._stats.read += lines
                self._stats.reject("unread_at_stop", lines)
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
            sock = key.fileobj
            if isinstance(sock, socket.socket):
                sock.close()
        self._selector.close()
        self._server = None


def kernel_drops(sock: socket.socket) -> int | None:
    """How many datagrams Linux dropped for ``sock`` (the ``drops`` column of ``/proc/net/udp`` or ``udp6``, found
    by the socket's inode); None when it is not listed."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii") as lines:
                next(lines, None)
                for line in lines:
                    columns = line.split()
                    if len(columns) >= 13 and columns[9] == inode:
                        return int(columns[12])
        except (OSError, ValueError):
            continue
    return None


def listen(
    url: str, stats: IngestStats, *, options: ReaderOptions, stop: threading.Event | None = None
) -> Iterator[Observation]:
    """Bind ``tcp://HOST:PORT`` or ``udp://HOST:PORT`` now, and return the observations to come.

    Raises at once ``InvalidOptionError`` (bad URL) or ``UnreadableInputError`` (cannot bind), one line each.
    """
    listener = LiveListener(url, stats, options=options, stop=stop)
    listener.bind()
    return listener.observations()
