"""Mode S Beast binary format (Mode-S Beast receiver, dump1090 port 30005), framed here, decoded by rs1090.

A frame is ``0x1a``, a type byte, a 6-byte big-endian MLAT counter (12 MHz), a signal-level byte and the
message: type ``'1'`` Mode A/C (2 bytes), ``'2'`` Mode S short (7 bytes), ``'3'`` Mode S long (14 bytes).
A ``0x1a`` inside a frame is sent twice. Units counted: each frame; each run of bytes outside any frame
(``malformed``); frames of other types (``'4'`` status and vendor extensions: ``unsupported_type``, skipped
to the next frame start); Mode A/C frames (``unsupported_type``: no address to track).

Time: the MLAT counter is relative. The first counter is pinned to ``options.start_time`` (else to
``options.clock()`` when the first frame arrives); later frames are offset by counter ticks / 12 MHz.
Without either, frames are rejected as ``no_timestamp``. A counter of 0 (a receiver without MLAT) takes
``options.clock()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from riskline.ingest.counting import NOTHING, Counting, drive
from riskline.ingest.modes import ModeSDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats

ESCAPE = 0x1A
MODE_AC, MODE_S_SHORT, MODE_S_LONG = 0x31, 0x32, 0x33
MESSAGE_LENGTH = {MODE_AC: 2, MODE_S_SHORT: 7, MODE_S_LONG: 14}  # [bytes]
HEADER_LENGTH = 7  # [bytes] MLAT counter (6) and signal level (1)
MLAT_CLOCK = 12e6  # [Hz]
MAX_BUFFER = 1 << 20  # [bytes] an unfinished frame never needs this much


@dataclass(frozen=True, slots=True)
class BeastFrame:
    kind: int
    """Type byte: ``0x31`` Mode A/C, ``0x32`` Mode S short, ``0x33`` Mode S long."""
    counter: int
    """12 MHz MLAT counter."""
    signal: int
    message: bytes


class BeastFramer(Counting):
    """Splits a Beast byte stream into frames, across chunk boundaries; counts bytes and junk.

    Every decision looks at no more than the bytes of one frame, and waits for more data rather than guess,
    so the result does not depend on how the stream was cut into chunks.
    """

    __slots__ = ("_buffer", "_skipping")

    def __init__(self, stats: IngestStats) -> None:
        super().__init__(stats)
        self._buffer = bytearray()
        self._skipping = False  # inside junk or a frame of another type: already counted, up to the next frame

    def _skip(self, reason: str) -> None:
        if not self._skipping:
            self._reject(reason)
            self._skipping = True

    def feed(self, chunk: bytes) -> list[BeastFrame]:
        self._stats.bytes_read += len(chunk)
        buffer = self._buffer
        buffer += chunk
        frames: list[BeastFrame] = []
        end = len(buffer)
        i = 0
        while i < end:
            if buffer[i] != ESCAPE:
                self._skip("malformed")
                j = buffer.find(ESCAPE, i)
                i = end if j < 0 else j
                continue
            if i + 1 >= end:
                break
            kind = buffer[i + 1]
            if kind == ESCAPE:  # an escaped 0x1a outside any frame we read
                self._skip("malformed")
                i += 2
                continue
            length = MESSAGE_LENGTH.get(kind)
            if length is None:
                self._skipping = False
                self._skip("unsupported_type")
                i += 2
                continue
            need = HEADER_LENGTH + length
            start = i + 2
            body = bytes(buffer[start : start + need])
            if len(body) == need and ESCAPE not in body:
                p = start + need
            else:
                unescaped = bytearray()
                p = start
                truncated = False
                while len(unescaped) < need and p < end:
                    byte = buffer[p]
                    if byte == ESCAPE:
                        if p + 1 >= end:
                            break
                        if buffer[p + 1] != ESCAPE:
                            truncated = True
                            break
                        p += 2
                    else:
                        p += 1
                    unescaped.append(byte)
                if truncated:
                    self._skipping = False
                    self._reject("malformed")
                    i = p
                    continue
                if len(unescaped) < need:
                    break
                body = bytes(unescaped)
            self._skipping = False
            frames.append(BeastFrame(kind, int.from_bytes(body[:6], "big"), body[6], body[7:]))
            i = p
        del buffer[:i]
        if len(buffer) > MAX_BUFFER:
            self._reject("malformed")
            buffer.clear()
        return frames

    def flush(self) -> None:
        """End of input: an unfinished frame is ``malformed``."""
        if self._buffer:
            if not (self._skipping and len(self._buffer) == 1):
                self._reject("malformed")
            self._buffer.clear()


class BeastDecoder(Counting):
    """Push-style: ``feed`` byte chunks, ``flush`` at the end."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._framer = BeastFramer(stats)
        self._modes = ModeSDecoder(stats, opts, source="beast")
        self._start_time = opts.start_time
        self._clock = opts.clock
        self._base: float | None = None  # [s] time of the first counter
        self._first_counter = 0

    def _time(self, counter: int) -> float | None:
        if counter == 0:
            return self._clock() if self._clock is not None else None
        if self._base is None:
            base = self._start_time if self._start_time is not None else None
            if base is None and self._clock is not None:
                base = self._clock()
            if base is None:
                return None
            self._base, self._first_counter = base, counter
        return self._base + (counter - self._first_counter) / MLAT_CLOCK

    def feed(self, chunk: bytes) -> list[Observation] | tuple[Observation, ...]:
        out: list[Observation] = []
        for frame in self._framer.feed(chunk):
            if frame.kind == MODE_AC:
                self._reject("unsupported_type")
                continue
            t = self._time(frame.counter)
            if t is None:
                self._reject("no_timestamp")
                continue
            decoded = self._modes.feed(frame.message.hex(), t)
            if decoded:
                out.extend(decoded)
        return out if out else NOTHING

    def flush(self) -> list[Observation] | tuple[Observation, ...]:
        self._framer.flush()
        return self._modes.flush()


def read_beast(
    chunks: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from a Beast byte stream given in chunks of any size."""
    return drive(BeastDecoder(stats, options), chunks)
