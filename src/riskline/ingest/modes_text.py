"""Mode S frames in text containers: JSON lines (jet1090 / ``traffic`` raw dumps) and ``timestamp,hex`` CSV.

Each line is one frame; the line decoders check the time and hand the hex frame to ``ModeSDecoder``
(``modes``), which decodes with rs1090 and counts the frame. A line without a usable time takes
``options.clock()``, else it is ``no_timestamp``; a bad time is ``bad_field:timestamp``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from riskline.ingest.counting import NOTHING, LineDecoder, drive
from riskline.ingest.modes import ModeSDecoder
from riskline.ingest.observation import Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import header_index
from riskline.ingest.values import time_value


class _ModesTextDecoder(LineDecoder):
    """What both containers do once a line gave its frame and its time: the time checked, the frame decoded."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._clock = opts.clock
        self._decoder = ModeSDecoder(stats, opts, source="modes")

    def _frame(self, frame: str, timestamp: object) -> list[Observation] | tuple[Observation, ...]:
        """Hand ``frame`` (hex) to the Mode S decoder at ``timestamp`` (a JSON/CSV time, ``values.time_value``)."""
        try:
            t = time_value(timestamp)
        except ValueError:
            return self._reject("bad_field:timestamp")
        if t is None:
            if self._clock is None:
                return self._reject("no_timestamp")
            t = self._clock()
        return self._decoder.feed(frame, t)

    def flush(self) -> list[Observation] | tuple[Observation, ...]:
        return self._decoder.flush()


class ModesJsonlDecoder(_ModesTextDecoder):
    """One JSON object per line with ``timestamp`` [s] and ``frame`` (hex); other fields are ignored."""

    def feed(self, line: bytes) -> list[Observation] | tuple[Observation, ...]:
        text = self._bytes(line)
        if text is None:
            return NOTHING
        try:
            record = json.loads(text)
        except ValueError:
            return self._reject("malformed")
        if not isinstance(record, dict):
            return self._reject("malformed")
        frame = record.get("frame")
        if not isinstance(frame, str):
            return self._reject("malformed")
        return self._frame(frame, record.get("timestamp"))


class ModesCsvDecoder(_ModesTextDecoder):
    """``timestamp,hex`` lines; an optional header names the columns (``timestamp``/``time``/``t`` and
    ``hex``/``frame``/``rawmsg``/``msg``). AVR-style ``*8d...;`` frames are accepted."""

    _TIME_NAMES = ("timestamp", "time", "t", "ts_ms")
    _FRAME_NAMES = ("hex", "frame", "rawmsg", "msg", "message")

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats, options)
        self._first = True
        self._time_column = 0
        self._frame_column = 1

    def _header(self, fields: list[str]) -> bool:
        columns = header_index(fields)
        time_column = next((columns[n] for n in self._TIME_NAMES if n in columns), None)
        frame_column = next((columns[n] for n in self._FRAME_NAMES if n in columns), None)
        if time_column is None or frame_column is None:
            return False
        self._time_column, self._frame_column = time_column, frame_column
        return True

    def feed(self, line: bytes) -> list[Observation] | tuple[Observation, ...]:
        fields = self._fields(line)
        if fields is None:
            return NOTHING
        if self._first:
            self._first = False
            if self._header(fields):
                return self._accept()
        if len(fields) <= max(self._time_column, self._frame_column):
            return self._reject("malformed")
        return self._frame(fields[self._frame_column].strip().strip("*;"), fields[self._time_column].strip())


def read_modes_jsonl(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from Mode S JSON lines (jet1090 / ``traffic`` raw dumps)."""
    return drive(ModesJsonlDecoder(stats, options), lines)


def read_modes_csv(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from ``timestamp,hex`` Mode S CSV lines."""
    return drive(ModesCsvDecoder(stats, options), lines)
