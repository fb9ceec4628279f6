"""What every push-style decoder shares: counting each unit of input once, the text-line preamble, the driving loop.

The counting contract is ``stats``'s: a unit (line, frame, record) is read once and is either accepted (with
or without an observation) or rejected with a reason, so ``read == accepted + rejected_total`` always holds.
``Counting`` holds that bookkeeping; ``LineDecoder`` adds what every line-based format does before its own
parsing (bytes counted, undecodable text ``malformed``, blank lines not units, ``#`` comments accepted);
``drive`` is the feed-then-flush loop behind every ``read_xxx``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ClassVar, Protocol

from riskline.ingest.observation import Observation
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import csv_fields

NOTHING: tuple[Observation, ...] = ()
_HASH = ord("#")


class Rejected(Exception):
    """Control flow inside a decoder: the unit at hand is rejected for ``reason``.

    The decoder that raises it catches it and counts the unit; it never leaves the package.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadField(Rejected):
    """The unit has a bad value in a field it needs: rejected as ``bad_field:<name>``."""

    def __init__(self, name: str) -> None:
        super().__init__(f"bad_field:{name}")


class Counting:
    """Counts units of input into an ``IngestStats``; every count returns what the unit yields."""

    __slots__ = ("_stats",)

    def __init__(self, stats: IngestStats) -> None:
        self._stats = stats

    def _reject(self, reason: str, units: int = 1) -> tuple[Observation, ...]:
        self._stats.read += units
        self._stats.reject(reason, units)
        return NOTHING

    def _accept(self, units: int = 1) -> tuple[Observation, ...]:
        """``units`` read and accepted without an observation."""
        self._stats.read += units
        self._stats.accepted += units
        return NOTHING

    def _emit(self, observation: Observation, units: int = 1) -> tuple[Observation, ...]:
        """``units`` read and accepted, together giving ``observation``."""
        stats = self._stats
        stats.read += units
        stats.accepted += units
        stats.observations += 1
        return (observation,)


class LineDecoder(Counting):
    """Base of the decoders fed one line (bytes) at a time.

    Each of the preamble helpers counts the line's bytes, then returns what is left to parse, or ``None``
    when the line is already dealt with: blank (not a unit), a ``#`` comment (read and accepted), or text
    that does not decode or split (``malformed``).
    """

    __slots__ = ()

    encoding: ClassVar[str] = "utf-8"
    """Codec of ``_text`` and ``_fields``: a line that does not decode is ``malformed``."""

    def _bytes(self, line: bytes) -> bytes | None:
        """The line stripped of ASCII white space, still bytes (for parsers that take bytes)."""
        self._stats.bytes_read += len(line)
        text = line.strip()
        if not text:
            return None
        if text[0] == _HASH:
            self._accept()
            return None
        return text

    def _text(self, line: bytes) -> str | None:
        """The line decoded with ``encoding``, then stripped."""
        self._stats.bytes_read += len(line)
        try:
            text = line.decode(self.encoding).strip()
        except UnicodeDecodeError:
            self._reject("malformed")
            return None
        if not text:
            return None
        if text[0] == "#":
            self._accept()
            return None
        return text

    def _fields(self, line: bytes) -> list[str] | None:
        """The CSV fields of the line's text (``textlines.csv_fields``)."""
        text = self._text(line)
        if text is None:
            return None
        try:
            return csv_fields(text)
        except ValueError:
            self._reject("malformed")
            return None

    def flush(self) -> Sequence[Observation]:
        """End of input; nothing is held back unless a decoder says otherwise."""
        return NOTHING


class Decoder(Protocol):
    """What every push-style decoder offers: ``feed`` a unit of bytes, ``flush`` at the end."""

    def feed(self, data: bytes, /) -> Sequence[Observation]: ...

    def flush(self) -> Sequence[Observation]: ...


class BatchDecoder(Decoder, Protocol):
    """A decoder that also takes many lines in one call (``NmeaDecoder``): the same result as feeding them one
    by one, faster."""

    def feed_lines(self, lines: Sequence[bytes], /) -> Sequence[Observation]: ...


def drive_batches(decoder: Decoder, batches: Iterable[list[bytes]]) -> Iterator[Observation]:
    """Observations of a whole input given as batches of lines: each batch in one call where the decoder takes
    batches, line by line otherwise; then the decoder flushed."""
    feed_lines = getattr(decoder, "feed_lines", None)
    if feed_lines is not None:
        for batch in batches:
            yield from feed_lines(batch)
    else:
        feed = decoder.feed
        for batch in batches:
            for line in batch:
                out = feed(line)
                if out:
                    yield from out
    yield from decoder.flush()


def overlong_line(stats: IngestStats) -> Callable[[int], None]:
    """The counter of lines too long to read: each is one unit read and rejected as ``line_too_long``."""

    def count(size: int) -> None:
        stats.bytes_read += size
        stats.read += 1
        stats.reject("line_too_long")

    return count


def drive(decoder: Decoder, units: Iterable[bytes]) -> Iterator[Observation]:
    """Observations of a whole input: every unit (line or chunk) fed in turn, then the decoder flushed."""
    feed = decoder.feed
    for unit in units:
        out = feed(unit)
        if out:
            yield from out
    yield from decoder.flush()
