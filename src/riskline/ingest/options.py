"""How a reader is told what it cannot find in its input: the format, the time, the receiver's place.

Time is a parameter: readers never look at the wall clock. A source with relative time only (Beast MLAT
counters) takes ``start_time``; a message without any time of its own takes ``clock()`` if one is given,
and is rejected as ``no_timestamp`` otherwise (the CLI offers ``--start-time``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from riskline.ingest.errors import InvalidOptionError
from riskline.ingest.formats import FORMATS


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """Options shared by every reader; all optional."""

    fmt: str | None = None
    """Force a format (one of ``FORMATS``) instead of sniffing the content."""
    start_time: float | None = None
    """[s] POSIX base time for sources that carry relative time only (Beast 12 MHz MLAT counters) or none (plain
    AIS NMEA: each report's UTC second then places it within the minute)."""
    clock: Callable[[], float] | None = None
    """Receive time for live streams and for messages with no time of their own; ``None``: reject them."""
    reference: tuple[float, float] | None = None
    """[deg] (lat, lon) of the receiver: decodes Mode S surface positions (must lie within 45 NM)."""
    group_timeout_s: float = 10.0
    """[s] data time after which an incomplete multi-sentence AIS message is dropped."""
    max_range_m: float | None = None
    """[m] reject decoded positions farther than this from ``reference`` (needs ``reference``)."""
    batch_size: int = 5000
    """Mode S frames decoded per call to rs1090 (CPR pairing is carried across batches)."""
    max_line_bytes: int = 1 << 20
    """[bytes] longest line a line-based format may have; a longer one is skipped as it streams past and
    counted as rejected (``line_too_long``), so one enormous line (a file of zeros) cannot exhaust memory."""

    def __post_init__(self) -> None:
        if self.fmt is not None and self.fmt not in FORMATS:
            raise InvalidOptionError(f"unknown format {self.fmt!r}; expected one of: {', '.join(FORMATS)}")
        if self.start_time is not None and not math.isfinite(self.start_time):
            raise InvalidOptionError(f"start_time must be a finite POSIX time, not {self.start_time!r}")
        if self.reference is not None:
            lat, lon = self.reference
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
                raise InvalidOptionError(f"reference must be (lat, lon) in degrees, not {self.reference!r}")
        if not self.group_timeout_s > 0.0:
            raise InvalidOptionError(f"group_timeout_s must be positive, not {self.group_timeout_s!r}")
        if self.max_range_m is not None and (self.reference is None or not self.max_range_m > 0.0):
            raise InvalidOptionError("max_range_m needs a reference and must be positive")
        if self.max_line_bytes < 1:
            raise InvalidOptionError(f"max_line_bytes must be at least 1, not {self.max_line_bytes!r}")
        if self.batch_size < 1:
            raise InvalidOptionError(f"batch_size must be at least 1, not {self.batch_size!r}")
