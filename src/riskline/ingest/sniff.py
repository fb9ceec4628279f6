"""Which format an input is in, told from its first bytes; the file name only breaks ties.

Gzip input (magic ``1f 8b``) is decompressed first, as far as the head allows. Then, in order:
Parquet magic ``PAR1``; Beast frames (``0x1a`` followed by a frame type, repeatedly); otherwise the text's
first meaningful lines (blank and ``#`` lines skipped): a JSON array or objects with ``icao24`` (traffic)
or ``frame`` (Mode S JSON lines); AIS sentences (``!xxVDM``/``!xxVDO``, with tag blocks or leading epochs,
or ``$PGHP``); SBS ``MSG,`` records; CSV headers (MarineCadastre ``MMSI,BaseDateTime,LAT,LON``, positions
table ``t,id,lat,lon``, Mode S ``timestamp,hex``) or header-less ``<time>,<hex frame>`` lines.
When the content says nothing (empty, comments only), the name's suffix decides.
"""

from __future__ import annotations

import re
import zlib

from riskline.ingest.errors import UnknownFormatError
from riskline.ingest.formats import FORMATS

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 16  # [bytes] how much of the head the sniffer looks at
_LINES = 20  # meaningful lines looked at

_AIS = re.compile(r"^(?:\d{9,10}(?:\.\d*)?[\s,;]*)?(?:\\[^\\]*\\)?(?:![A-Z]{2}VD[MO],|\$PGHP,)")
_SBS = re.compile(r"^(?:MSG,[1-8],|(?:SEL|ID|AIR|STA|CLK),)")
_MODES_CSV_ROW = re.compile(r"^\s*-?[\d.]+(?:[eE][+-]?\d+)?\s*,\s*\*?(?:[0-9a-fA-F]{14}|[0-9a-fA-F]{28});?\s*(?:,|$)")

_SUFFIXES: tuple[tuple[str, str], ...] = (
    (".nmea", "nmea"),
    (".nm4", "nmea"),
    (".ais", "nmea"),
    (".aivdm", "nmea"),
    (".jsonl", "modes_jsonl"),
    (".beast", "beast"),
    (".bin", "beast"),
    (".sbs", "sbs"),
    (".basestation", "sbs"),
    (".parquet", "table_parquet"),
    (".json", "traffic_json"),
)


def gunzip_head(head: bytes) -> bytes:
    """As much of a gzip stream's content as ``head`` holds (empty if it is not valid gzip)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return inflater.decompress(head, SNIFF_BYTES)
    except zlib.error:
        return b""


def is_gzip(head: bytes) -> bool:
    return head[:2] == GZIP_MAGIC


def _beast(data: bytes) -> bool:
    if len(data) < 2 or data[0] != 0x1A or data[1] not in b"1234":
        return False
    sample = data[:4096]
    frames = sum(sample.count(marker) for marker in (b"\x1a1", b"\x1a2", b"\x1a3", b"\x1a4"))
    return frames >= min(3, max(1, len(sample) // 24))


def _meaningful_lines(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if line and not line.startswith("#"):
            lines.append(line)
            if len(lines) >= _LINES:
                break
    return lines


def _json(first: str, text: str) -> str | None:
    window = text[:4096]
    if first.startswith("["):
        return "traffic_json" if '"icao24"' in window else None
    if '"frame"' in first and '"timestamp"' in first:
        return "modes_jsonl"
    if '"icao24"' in first:
        return "traffic_json"
    return None


def _csv_header(first: str) -> str | None:
    names = {name.strip().strip('"').lower() for name in first.split(",")}
    if {"mmsi", "basedatetime", "lat", "lon"} <= names:
        return "marinecadastre"
    if {"t", "id", "lat", "lon"} <= names:
        return "table_csv"
    if names & {"timestamp", "time", "t"} and names & {"hex", "frame", "rawmsg", "msg", "message"}:
        return "modes_csv"
    return None


def _by_content(data: bytes) -> str | None:
    if data.startswith(b"PAR1"):
        return "table_parquet"
    if _beast(data):
        return "beast"
    sample = data[:SNIFF_BYTES]
    if sample.count(b"\x00") > 0:
        return None
    text = sample.decode("utf-8", "replace")
    lines = _meaningful_lines(text)
    if not lines:
        return None
    first = lines[0]
    if first.startswith(("[", "{")):
        return _json(first, text)
    if any(_AIS.match(line) for line in lines):
        return "nmea"
    if _SBS.match(first):
        return "sbs"
    header = _csv_header(first)
    if header is not None:
        return header
    if _MODES_CSV_ROW.match(first):
        return "modes_csv"
    return None


LIVE_FORMATS = ("nmea", "sbs")


def line_format(line: str) -> str | None:
    """``nmea`` or ``sbs`` for one text line of a live feed (the first meaningful line decides), else None."""
    stripped = line.strip()
    if _AIS.match(stripped):
        return "nmea"
    if _SBS.match(stripped):
        return "sbs"
    return None


def _by_name(name: str) -> str | None:
    lowered = name.lower()
    if lowered.endswith(".gz"):
        lowered = lowered[:-3]
    for suffix, fmt in _SUFFIXES:
        if lowered.endswith(suffix):
            return fmt
    return None


def _is_empty(data: bytes) -> bool:
    return not _meaningful_lines(data[:SNIFF_BYTES].decode("utf-8", "replace"))


def detect_format(head: bytes, name: str = "") -> str:
    """The format of an input from its first bytes (``SNIFF_BYTES`` are enough); one of ``FORMATS``.

    Raises ``UnknownFormatError`` with a one-line message naming the input.
    """
    data = gunzip_head(head) if is_gzip(head) else head
    fmt = _by_content(data)
    if fmt is None and _is_empty(data):
        fmt = _by_name(name)
    if fmt is None:
        raise UnknownFormatError(f"{name or '<input>'}: unknown input format (expected one of: {', '.join(FORMATS)})")
    return fmt
