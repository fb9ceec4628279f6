"""Open, sniff and dispatch: a file or a byte stream in, observations out.

``read_path`` reads a file, transparently gunzipping it (``*.json.gz``); ``read_bytes_stream`` reads any
iterable of byte chunks (stdin, a socket, a test). Both sniff the format from the first ``SNIFF_BYTES``
unless ``options.fmt`` forces one, then stream through the format's decoder: memory stays flat whatever
the input's size. ``read_path`` opens and sniffs at call time, so an unreadable or unknown file raises
before the first observation; a stream can only be sniffed once its first bytes arrive (at the first
``next``). A compressed stream that turns out corrupt or truncated raises ``UnreadableInputError`` where
it breaks, after everything before it was yielded and counted.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Protocol, cast, runtime_checkable

from riskline.ingest.batch import ObservationBatch
from riskline.ingest.beast import BeastDecoder
from riskline.ingest.counting import Decoder, drive, drive_batches, overlong_line
from riskline.ingest.errors import UnreadableInputError
from riskline.ingest.marinecadastre import MarineCadastreDecoder
from riskline.ingest.marinecadastre_columns import MarineCadastreColumnDecoder
from riskline.ingest.modes_text import ModesCsvDecoder, ModesJsonlDecoder
from riskline.ingest.nmea import NmeaDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import SbsDecoder
from riskline.ingest.sbs_columns import SbsColumnDecoder
from riskline.ingest.sniff import SNIFF_BYTES, detect_format, is_gzip
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import read_table_parquet
from riskline.ingest.table_columns import TableCsvBulkDecoder, read_table_parquet_batches
from riskline.ingest.textlines import line_batches, line_blocks
from riskline.ingest.traffic import TrafficDecoder

__all__ = [
    "CHUNK_DECODERS",
    "COLUMN_DECODERS",
    "LINE_DECODERS",
    "Decoder",
    "ReaderOptions",
    "read_bytes_stream",
    "read_format",
    "read_path",
    "read_path_batches",
]

CHUNK_BYTES = 1 << 18  # [bytes] read size; a chunk of lines is decoded as one batch


DecoderFactory = Callable[[IngestStats, ReaderOptions], Decoder]

LINE_DECODERS: dict[str, DecoderFactory] = {
    "nmea": NmeaDecoder,
    "marinecadastre": MarineCadastreDecoder,
    "modes_jsonl": ModesJsonlDecoder,
    "modes_csv": ModesCsvDecoder,
    "sbs": SbsDecoder,
    "table_csv": TableCsvBulkDecoder,
}
"""Formats read line by line: their decoders are fed one line (bytes) at a time."""

CHUNK_DECODERS: dict[str, DecoderFactory] = {
    "beast": BeastDecoder,
    "traffic_json": TrafficDecoder,
}
"""Formats read as a byte stream: their decoders are fed chunks of any size."""


class ColumnDecoder(Protocol):
    """A line decoder that also takes a batch of lines at once, column-wise (``read_path_batches``)."""

    def feed_columns(self, lines: Sequence[bytes], /) -> Sequence[ObservationBatch]: ...

    def flush(self) -> Sequence[Observation]: ...


@runtime_checkable
class BlockDecoder(ColumnDecoder, Protocol):
    """A column decoder that takes a batch's lines as one block of bytes (``textlines.line_blocks``), unsplit."""

    def feed_block(self, block: bytes, /) -> Sequence[ObservationBatch]: ...


COLUMN_DECODERS: dict[str, Callable[[IngestStats, ReaderOptions], ColumnDecoder]] = {
    "table_csv": TableCsvBulkDecoder,
    "nmea": NmeaDecoder,
    "sbs": SbsColumnDecoder,
    "marinecadastre": MarineCadastreColumnDecoder,
}
"""Line formats ``read_path_batches`` reads column-wise: the same observations and counts as ``LINE_DECODERS``."""

COLUMN_CHUNK_BYTES = {"sbs": 1 << 22, "marinecadastre": 1 << 22}
"""[bytes] read size of the column decoders whose per-block cost (per aircraft or vessel in the block) wants big
blocks; the others read ``COLUMN_CHUNK_DEFAULT``."""
COLUMN_CHUNK_DEFAULT = 1 << 20
"""[bytes] read size of the other column decoders: a chunk's lines make one batch, and bigger batches spread each
batch's fixed costs (and each platform's) over more rows."""


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


def read_format(
    fmt: str, chunks: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from (already decompressed) byte chunks known to be in format ``fmt``."""
    opts = options if options is not None else ReaderOptions()
    if fmt in LINE_DECODERS:
        batches = line_batches(chunks, opts.max_line_bytes, overlong_line(stats))
        return drive_batches(LINE_DECODERS[fmt](stats, opts), batches)
    if fmt in CHUNK_DECODERS:
        return drive(CHUNK_DECODERS[fmt](stats, opts), chunks)
    return read_table_parquet(b"".join(chunks), stats, opts)


BATCH_ROWS = 4096
"""Observations per batch where a format is decoded row by row (``read_path_batches``)."""


def read_path_batches(
    path: Path, stats: IngestStats, *, options: ReaderOptions | None = None
) -> Iterator[ObservationBatch]:
    """Like ``read_path``, as columnar batches: read column-wise where the format allows it (``COLUMN_DECODERS``,
    positions-table Parquet), otherwise the observations grouped ``BATCH_ROWS`` at a time. Same observations, same
    counts."""
    opts = options if options is not None else ReaderOptions()
    path = Path(path)
    fmt, head = _sniff(path, opts)
    if fmt == "table_parquet":
        yield from _parquet_batches(path, is_gzip(head), stats, opts)
        return
    if fmt not in COLUMN_DECODERS:
        yield from _grouped(_read_file(path, fmt, is_gzip(head), stats, opts))
        return
    decoder = COLUMN_DECODERS[fmt](stats, opts)
    try:
        with cast(BinaryIO, gzip.open(path, "rb") if is_gzip(head) else path.open("rb")) as handle:
            chunks = iter(partial(handle.read, COLUMN_CHUNK_BYTES.get(fmt, COLUMN_CHUNK_DEFAULT)), b"")
            if isinstance(decoder, BlockDecoder):
                for block in line_blocks(chunks, opts.max_line_bytes, overlong_line(stats)):
                    yield from decoder.feed_block(block)
            else:
                for lines in line_batches(chunks, opts.max_line_bytes, overlong_line(stats)):
                    yield from decoder.feed_columns(lines)
    except (OSError, EOFError, zlib.error) as error:
        raise UnreadableInputError(f"{path}: cannot read: {_why(error)}") from None
    rest = list(decoder.flush())
    if rest:
        yield ObservationBatch.from_observations(rest)


def _parquet_batches(
    path: Path, compressed: bool, stats: IngestStats, opts: ReaderOptions
) -> Iterator[ObservationBatch]:
    try:
        if compressed:
            with gzip.open(path, "rb") as handle:
                yield from read_table_parquet_batches(handle.read(), stats, opts)
        else:
            yield from read_table_parquet_batches(path, stats, opts)
    except (OSError, EOFError, zlib.error) as error:
        raise UnreadableInputError(f"{path}: cannot read: {_why(error)}") from None


def _grouped(observations: Iterable[Observation]) -> Iterator[ObservationBatch]:
    group: list[Observation] = []
    for observation in observations:
        group.append(observation)
        if len(group) == BATCH_ROWS:
            yield ObservationBatch.from_observations(group)
            group = []
    if group:
        yield ObservationBatch.from_observations(group)


def read_path(path: Path, stats: IngestStats, *, options: ReaderOptions | None = None) -> Iterator[Observation]:
    """Observations from a file, its format sniffed (or forced by ``options.fmt``).

    Raises at call time ``UnreadableInputError`` (cannot open or read) or ``UnknownFormatError``, each with
    a one-line message naming the file; dirty content is only counted in ``stats``.
    """
    opts = options if options is not None else ReaderOptions()
    path = Path(path)
    fmt, head = _sniff(path, opts)
    return _read_file(path, fmt, is_gzip(head), stats, opts)


def _sniff(path: Path, opts: ReaderOptions) -> tuple[str, bytes]:
    """The file's format (sniffed unless forced) and its first bytes; raises ``UnreadableInputError``."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as error:
        raise UnreadableInputError(f"{path}: cannot read: {_why(error)}") from None
    return (opts.fmt if opts.fmt is not None else detect_format(head, str(path))), head


def _read_file(
    path: Path, fmt: str, compressed: bool, stats: IngestStats, opts: ReaderOptions
) -> Iterator[Observation]:
    try:
        if fmt == "table_parquet" and not compressed:
            yield from read_table_parquet(path, stats, opts)
            return
        handle: BinaryIO
        with cast(BinaryIO, gzip.open(path, "rb") if compressed else path.open("rb")) as handle:
            yield from read_format(fmt, iter(partial(handle.read, CHUNK_BYTES), b""), stats, opts)
    except (OSError, EOFError, zlib.error) as error:
        raise UnreadableInputError(f"{path}: cannot read: {_why(error)}") from None


def _gunzip(chunks: Iterable[bytes], name: str) -> Iterator[bytes]:
    """Inflate a (possibly multi-member) gzip stream chunk by chunk."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    open_member = False
    try:
        for chunk in chunks:
            while chunk:
                open_member = True
                data = inflater.decompress(chunk)
                if data:
                    yield data
                if inflater.eof:
                    open_member = False
                    chunk = inflater.unused_data
                    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    chunk = b""
    except zlib.error as error:
        raise UnreadableInputError(f"{name}: cannot read: corrupt gzip stream ({_why(error)})") from None
    if open_member:
        raise UnreadableInputError(f"{name}: cannot read: truncated gzip stream")


def read_bytes_stream(
    chunks: Iterable[bytes],
    stats: IngestStats,
    *,
    options: ReaderOptions | None = None,
    name: str = "<stream>",
) -> Iterator[Observation]:
    """Observations from byte chunks (stdin, a socket...), gunzipped if need be, format sniffed from the
    first ``SNIFF_BYTES`` (or forced by ``options.fmt``). ``name`` appears in error messages."""
    opts = options if options is not None else ReaderOptions()
    source = iter(chunks)
    buffered: list[bytes] = []
    size = 0
    while size < SNIFF_BYTES:
        chunk = next(source, None)
        if chunk is None:
            break
        buffered.append(chunk)
        size += len(chunk)
    head = b"".join(buffered)
    fmt = opts.fmt if opts.fmt is not None else detect_format(head, name)
    data: Iterable[bytes] = chain(buffered, source)
    if is_gzip(head):
        data = _gunzip(data, name)
    yield from read_format(fmt, data, stats, opts)
