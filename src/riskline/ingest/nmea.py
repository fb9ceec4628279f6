"""AIS over NMEA 0183 (ITU-R M.1371-5 payloads in IEC 61162-1 !AIVDM/!AIVDO sentences), decoded by pyais.

One line is one unit of input. Besides the plain sentence, a line may carry its time in one of these ways
(checked in this order; the first found wins):

1. an NMEA 4.10 tag block ``\\s:station,c:unix_time*hh\\`` before the sentence (``c`` in seconds, or in
   milliseconds when above 1e11; ``s`` becomes ``Observation.station``); a bad tag-block checksum rejects
   the line as ``bad_checksum``;
2. a leading POSIX time, ``1325394060 !AIVDM,...`` or ``1325394060,!AIVDM,...``;
3. fields after the checksum (AISdb/receiver metadata, ``...,0*28,d-109,S2105,t050056.00,...,1325394060,
   1325394001``): the first field that is POSIX seconds (9-10 digits) is the receive time. In that
   layout the first epoch agrees with the receiver's ``t`` hhmmss field; the last one drifts by up to a minute;
4. a ``$PGHP`` Gatehouse wrapper on the line before, whose UTC date and time apply to the next AIS sentence.

A message with none of these takes ``options.clock()``. Without a clock, ``options.start_time`` starts a
clock of its own (``UntimedClock``): each position report's UTC second (the ITU-R M.1371 "time stamp" field,
0–59) places it within the minute, rolling on to the next minute when the second wraps; a report without a
usable second takes the latest time. Without either, the message is rejected as ``no_timestamp``.
Blank lines are not units (their bytes are counted). ``#`` comment lines and valid ``$PGHP`` wrappers are
read and accepted without an observation. Other sentences (``$GPGGA``...) are ``unsupported_type``, as are
AIS message types riskline does not use. Multi-sentence messages: see ``nmea_assembly``.

Message types used: 1/2/3, 18, 19, 27 (ship positions), 9 (SAR aircraft: domain air, altitude in metres),
5, 19 and 24 (name, callsign, ship type). A static yields an observation only when it changes what is known
of the vessel; the latest identity is carried on every later position of that MMSI.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple

import numpy as np
from pyais.exceptions import UnknownMessageException
from pyais.messages import GatehouseSentence, NMEASentenceFactory
from pyais.messages import TagBlock as PyaisTagBlock
from pyais.util import checksum

from riskline.ingest.ais_bulk import (
    STATIC_WIDTH,
    WIDTH,
    StaticIdentity,
    decode_sixbit_positions,
    decode_statics,
    sixbit_rows,
)
from riskline.ingest.ais_fields import POSITION_TYPES, SUPPORTED_TYPES, AisReport, ais_report
from riskline.ingest.batch import ObservationBatch
from riskline.ingest.counting import NOTHING, LineDecoder, Rejected, drive
from riskline.ingest.gate import AIR_LIMITS, SEA_LIMITS, JumpGate, RangeGate, valid_lat_lon
from riskline.ingest.memory import IdentityMemory
from riskline.ingest.nmea_assembly import MultipartAssembler
from riskline.ingest.nmea_bulk import Prepared, prepare, tag_fields
from riskline.ingest.nmea_columns import (
    OK,
    OTHER,
    POSITION,
    REASONS,
    STATIC,
    BulkJumpGate,
    ParsedLines,
    SlowTag,
    StaticPair,
    chain_admits,
    interleave,
    parse_block,
    parse_lines,
    static_pairs,
)
from riskline.ingest.observation import Domain, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.stats import IngestStats
from riskline.ingest.textlines import block_lines

SOURCE = "nmea"

_LEADING_EPOCH = re.compile(rb"(\d{9,10}(?:\.\d*)?)[\s,;]*(?=[!\\$])")
_BACKSLASH, _DOLLAR, _BANG = ord("\\"), ord("$"), ord("!")
_ARMOUR = b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def _epoch(text: bytes | str) -> float:
    seconds = float(text)
    return seconds / 1000.0 if seconds > 1e11 else seconds


def _trailing_epoch(trailing: bytes) -> float | None:
    for field in trailing.split(b","):
        digits = field.split(b".", 1)[0]
        if 9 <= len(digits) <= 10 and digits.isdigit() and field.replace(b".", b"", 1).isdigit():
            return float(field)
    return None


@dataclass(frozen=True, slots=True)
class TagBlock:
    """The NMEA 4.10 tag-block fields riskline uses."""

    t: float | None = None
    """[s] ``c:`` receiver time."""
    station: str | None = None
    """``s:`` source station."""
    group: str | None = None
    """``g:`` group id, linking the sentences of one multi-sentence message."""
    group_first: bool = False
    """This sentence is the group's first (``g:1-n-id``)."""


def _tag_block(raw: bytes) -> TagBlock:
    """The fields of a tag block (without its backslashes), parsed by pyais; raises ``Rejected``.

    A tag block without any checksum is taken as it is (the sentence after it keeps its own checksum).
    """
    if b"*" not in raw:
        raw = raw + b"*%02X" % checksum(raw)
    tag = PyaisTagBlock(raw)
    tag.init()
    if not tag.is_valid:
        raise Rejected("malformed" if tag.actual_checksum < 0 else "bad_checksum")
    t: float | None = None
    if tag.receiver_timestamp is not None:
        try:
            t = _epoch(tag.receiver_timestamp)
        except ValueError:
            raise Rejected("malformed") from None
        if not 0.0 <= t < 1e10:  # also refuses NaN
            raise Rejected("malformed")
    group = tag.group
    return TagBlock(
        t,
        tag.source_station or None,
        None if group is None else str(group.group_id),
        group is not None and group.sentence_num == 1,
    )


class UntimedClock:
    """Times for plain NMEA that carries none, from a start time and each report's UTC second (0–59).

    Approximation, documented for the operator: AIS reports carry only the second of the minute, so the minute
    is inferred — a second more than 30 s behind the latest time is taken as the next minute, one more than
    30 s ahead as late from the previous one. A gap of a minute or more in the recording cannot be seen.
    """

    __slots__ = ("latest",)

    def __init__(self, start: float) -> None:
        self.latest = start  # [s]

    def at(self, second: object) -> float:
        """[s] the time of a report whose UTC second is ``second`` (None or 60–63: not available)."""
        if not isinstance(second, int) or isinstance(second, bool) or not 0 <= second <= 59:
            return self.latest
        candidate = math.floor(self.latest / 60.0) * 60.0 + second
        if candidate < self.latest - 30.0:
            candidate += 60.0
        elif candidate > self.latest + 30.0:
            candidate -= 60.0
        self.latest = max(self.latest, candidate)
        return candidate


class _Deferred(NamedTuple):
    """A report ``_report`` holds back while ``feed_columns`` feeds lines one by one."""

    line: int
    report: AisReport
    msg_type: int
    units: int
    t: float
    station: str | None


class _Held(NamedTuple):
    """A whole message whose decoding ``feed_columns`` holds back, to decode many at once."""

    line: int
    sentence: Any
    units: int
    t: float
    station: str | None


class NmeaDecoder(LineDecoder):
    """Push-style decoder: ``feed`` one line at a time, ``flush`` at the end of the input."""

    def __init__(self, stats: IngestStats, options: ReaderOptions | None = None) -> None:
        super().__init__(stats)
        opts = options if options is not None else ReaderOptions()
        self._clock = opts.clock
        self._untimed = None if opts.start_time is None else UntimedClock(opts.start_time)
        self._assembler = MultipartAssembler(stats, opts.group_timeout_s)
        self._identities = IdentityMemory()
        self._sea_gate = BulkJumpGate(SEA_LIMITS)
        self._air_gate = JumpGate(AIR_LIMITS)
        self._range = RangeGate(opts.reference, opts.max_range_m)
        self._range_limited = opts.max_range_m is not None
        self._wrapper_t: float | None = None  # [s] time of a $PGHP wrapper waiting for its sentence
        self._timed = False  # the input has carried times of its own
        self._group_station: dict[str, str] = {}  # tag-block group id -> station of its first sentence
        self._deferred: list[_Deferred] | None = None  # reports held back by feed_columns, else None
        self._held: list[_Held] | None = None  # messages whose decoding feed_columns holds back, else None
        self._line = 0  # index in its batch of the line feed_columns is feeding
        self._key_cache: dict[int, str] = {}  # MMSI -> platform key, for feed_columns
        self._identified: set[int] = set()  # MMSIs whose identity is known

    def feed(self, line: bytes) -> tuple[Observation, ...]:
        text = self._bytes(line)
        if text is None:
            return NOTHING
        try:
            return self._sentence(text, text[0])
        except Rejected as rejected:
            return self._reject(rejected.reason)

    def _sentence(self, text: bytes, first: int) -> tuple[Observation, ...]:
        t_line: float | None = None
        station: str | None = None
        if 48 <= first <= 57:
            match = _LEADING_EPOCH.match(text)
            if match is None:
                raise Rejected("malformed")
            t_line = float(match.group(1))
            text = text[match.end() :]
            first = text[0]
        if first == _BACKSLASH:
            end = text.find(b"\\", 1)
            if end < 0 or end == len(text) - 1:
                raise Rejected("malformed")
            tag = _tag_block(text[1:end])
            station = tag.station
            if tag.t is not None:
                t_line = tag.t
            if tag.group is not None:
                station = self._group_station_of(tag)
            text = text[end + 1 :]
            first = text[0]
        return self._after_tag(text, first, t_line, station)

    def _feed_tagged(self, line: bytes, tag: SlowTag) -> tuple[Observation, ...]:
        """``feed`` for a line that starts with a right tag block already read (``nmea_columns.SlowTag``)."""
        self._stats.bytes_read += len(line)
        text = line.strip()[tag.offset :]
        try:
            return self._after_tag(text, text[0], tag.t, tag.station)
        except Rejected as rejected:
            return self._reject(rejected.reason)

    def _after_tag(
        self, text: bytes, first: int, t_line: float | None, station: str | None
    ) -> tuple[Observation, ...]:
        """The rest of ``_sentence``: the sentence after any leading time and tag block."""
        if first == _DOLLAR:
            return self._proprietary(text)
        if first != _BANG:
            raise Rejected("malformed")
        star = text.find(b"*")
        if star < 0:
            raise Rejected("malformed")
        if len(text) > star + 3:
            if t_line is None:
                t_line = _trailing_epoch(text[star + 3 :])
            text = text[: star + 3]
        try:
            sentence: Any = NMEASentenceFactory.produce(text)
        except UnknownMessageException:
            raise Rejected("unsupported_type") from None
        except Exception:
            raise Rejected("malformed") from None
        if not sentence.is_valid:
            raise Rejected("bad_checksum")
        t = self._wrapped(t_line)
        assembler = self._assembler
        if sentence.frag_cnt == 1:
            if assembler.pending:
                now = self._data_time(t)
                if now is not None:
                    assembler.evict(now)
            return self._message(sentence, 1, t, station)
        assembled = assembler.add(sentence, t, station, self._data_time(t))
        if assembled is None:
            return NOTHING
        return self._message(assembled.sentence, assembled.units, assembled.t, assembled.station)

    def feed_lines(self, lines: Sequence[bytes]) -> list[Observation]:
        """Many lines at once: what feeding them one by one gives, with the common position reports decoded in
        bulk (``nmea_bulk``); the other lines go through ``feed`` in their turn.

        With ``start_time`` and no clock (plain NMEA that carries no time) every line goes through ``feed``: the
        time of an untimed report is its own UTC second, which only the full decode reads (``UntimedClock``)."""
        if self._untimed is not None and self._clock is None:
            return [observation for line in lines for observation in self.feed(line)]
        prepared = prepare(lines)
        values = prepared.values
        lats, lons = values.lat.tolist(), values.lon.tolist()
        sogs, cogs = values.sog_mps.tolist(), values.cog_deg.tolist()
        out: list[Observation] = []
        stats = self._stats
        for line, row in zip(lines, prepared.fast, strict=True):
            if row < 0:
                got = self.feed(line)
            else:
                stats.bytes_read += len(line)
                try:
                    t, station = self._bulk_time(prepared, row)
                except Rejected as rejected:
                    self._reject(rejected.reason)
                    continue
                if t is None:
                    if self._clock is not None:
                        t = self._clock()
                    elif self._untimed is not None:
                        second = prepared.second[row]
                        t = self._untimed.at(None if second < 0 else second)
                    else:
                        self._reject("no_timestamp")
                        continue
                lat, lon, sog, cog = lats[row], lons[row], sogs[row], cogs[row]
                report = AisReport(
                    prepared.mmsi[row],
                    None if lat != lat else lat,
                    None if lon != lon else lon,
                    None if sog != sog else sog,
                    None if cog != cog else cog,
                )
                got = self._report(report, prepared.msg_type[row], 1, t, station)
            if got:
                out.extend(got)
        return out

    def feed_columns(self, lines: Sequence[bytes]) -> list[ObservationBatch]:
        """Many lines at once, as columns: what feeding them one by one gives (the same observations in the same
        order, the same counts), with no Python object per common line.

        The common lines (``nmea_columns.parse_lines``: position reports, statics and type 19, types riskline does
        not use) are checked, timed and decoded as arrays. The others go through ``feed`` in input order with their
        reports held back (``_Deferred``; the statics among whole messages decoded in bulk, ``_decode_held``; a
        static in two adjacent fragments read without pyais, ``_static_pair``). Reports that only repeat a known
        identity are counted and dropped (``_without_idle_reports``). Then the held
        reports and the statics, with the common position reports of the platforms they concern, go through
        ``_apply_report`` in input order, while every other platform's position reports pass the gates
        column-wise (the jump gate optimistically, ``chain_admits``, sequentially for a platform whose fixes do not
        simply chain). Multi-sentence timeouts run, before each other line, on the latest data time of the common
        lines since the previous one (evicting at several times with nothing added in between is evicting at the
        latest). With a clock, ``start_time``, or a ``$PGHP`` wrapper in the batch or pending, the batch goes
        through ``feed_lines``."""
        joined = b"".join(lines)
        if self._by_lines(joined):
            return self._lines_as_batches(lines)
        return self._parsed(parse_lines(lines, joined))

    def feed_block(self, block: bytes) -> list[ObservationBatch]:
        """``feed_columns`` of the lines of a block of bytes (``textlines.line_blocks``), never split into lines
        but for those ``feed`` takes."""
        if self._by_lines(block):
            return self._lines_as_batches(block_lines(block))
        return self._parsed(parse_block(block))

    def _by_lines(self, data: bytes) -> bool:
        """Whether a batch must go through ``feed_lines`` (see ``feed_columns``)."""
        if self._clock is not None or self._untimed is not None or self._wrapper_t is not None:
            return True
        return b"$" in data and b"$PGHP" in data  # most AIS files have no "$" at all: one memchr

    def _lines_as_batches(self, lines: Sequence[bytes]) -> list[ObservationBatch]:
        observations = self.feed_lines(lines)
        return [ObservationBatch.from_observations(observations)] if observations else []

    def _parsed(self, parsed: ParsedLines) -> list[ObservationBatch]:
        """The rest of ``feed_columns``, once the batch's lines are parsed."""
        stats = self._stats
        stats.bytes_read += parsed.fast_bytes
        good = parsed.reason == OK
        rejected = parsed.reason[~good]
        if len(rejected):
            stats.read += len(rejected)
            for code, count in zip(*np.unique(rejected, return_counts=True), strict=True):
                stats.reject(REASONS[int(code)], int(count))
        deferred = self._feed_slow(parsed, good)
        other = good & (parsed.kind == OTHER)
        if other.any():
            stats.read += int(other.sum())
            stats.reject("unsupported_type", int(other.sum()))
        statics = np.flatnonzero(good & (parsed.kind == STATIC)).tolist()
        if deferred or statics:
            deferred = self._without_idle_reports(deferred, parsed, statics)
        rows = np.flatnonzero(good & (parsed.kind == POSITION))
        unique, code = np.unique(parsed.mmsi[rows], return_inverse=True)
        keys = self._keys_of(unique.tolist())
        sequential = np.zeros(len(keys), dtype=bool)
        if deferred:
            index = {key: k for k, key in enumerate(keys)}
            for held in deferred:
                k = index.get(f"mmsi:{held.report.mmsi:09d}", -1)
                if k >= 0:
                    sequential[k] = True
        in_order = sequential[code]
        lines_out, observations = self._in_order(parsed, rows[in_order], deferred)
        batch, batch_lines = self._columns(parsed, rows[~in_order], code[~in_order], keys, unique)
        if observations:
            ordered = ObservationBatch.from_observations(observations)
            batch = interleave(batch, ordered, np.searchsorted(batch_lines, lines_out)) if len(batch) else ordered
        return [batch] if len(batch) else []

    def _without_idle_reports(
        self, deferred: list[_Deferred], parsed: ParsedLines, statics: list[int]
    ) -> list[_Deferred]:
        """The held-back reports and those of the static rows ``statics``, less those of platforms whose every report
        only repeats the identity already known (a static sent again): ``_apply_report`` would only count each
        accepted, and those platforms' positions may pass the gates column-wise."""
        busy: set[int] = set()
        idle = False
        for held in deferred:
            report = held.report
            if held.msg_type in POSITION_TYPES and report.lat is not None and report.lon is not None:
                busy.add(report.mmsi)
            elif self._repeats(report.mmsi, report.name, report.callsign, report.ship_type):
                idle = True
            else:
                busy.add(report.mmsi)
        mmsis = parsed.mmsi[statics].tolist()
        placed = (parsed.msg_type[statics] == 19) & ~np.isnan(parsed.values.lat[statics] + parsed.values.lon[statics])
        repeats: dict[tuple[int, StaticIdentity], bool] = {}  # the same static comes many times in a batch
        for mmsi, row, with_position in zip(mmsis, statics, placed.tolist(), strict=True):
            if with_position:  # a type 19 with a position: to the gates, whatever its identity
                busy.add(mmsi)
                continue
            identity = parsed.identity[row]
            same = repeats.get((mmsi, identity))
            if same is None:
                same = repeats[mmsi, identity] = self._repeats(
                    mmsi, identity.name, identity.callsign, identity.ship_type
                )
            if same:
                idle = True
            else:
                busy.add(mmsi)
        if not idle:
            return deferred + [self._static(parsed, row) for row in statics]
        kept = [held for held in deferred if held.report.mmsi in busy]
        dropped = sum(held.units for held in deferred if held.report.mmsi not in busy)
        kept_rows = [row for mmsi, row in zip(mmsis, statics, strict=True) if mmsi in busy]
        dropped += len(statics) - len(kept_rows)
        if dropped:
            self._accept(dropped)
        return kept + [self._static(parsed, row) for row in kept_rows]

    def _repeats(self, mmsi: int, name: str | None, callsign: str | None, ship_type: int | None) -> bool:
        """Whether an identity update with these fields would change nothing of what is known."""
        known = self._identities.get(f"mmsi:{mmsi:09d}")
        if known is None:
            return name is None and callsign is None and ship_type is None
        return (
            (callsign is None or callsign == known.callsign)
            and (name is None or name == known.name)
            and (ship_type is None or ship_type == known.ship_type)
        )

    def _keys_of(self, mmsis: list[int]) -> list[str]:
        """The platform key of each MMSI (``mmsi:%09d``), each made once per decoder."""
        known = self._key_cache
        keys = list(map(known.get, mmsis))
        if None in keys:
            if len(known) > 200_000:
                known.clear()
            for k, mmsi in enumerate(mmsis):
                if keys[k] is None:
                    keys[k] = known[mmsi] = f"mmsi:{mmsi:09d}"
        return keys  # type: ignore[return-value]

    @staticmethod
    def _static(parsed: ParsedLines, row: int) -> _Deferred:
        """The report of a static row, as the lines ``feed`` takes give theirs."""
        identity = parsed.identity[row]
        assert identity is not None
        mmsi = int(parsed.mmsi[row])
        if parsed.msg_type[row] == 19:  # an extended class B position report: position and identity
            values = parsed.values
            lat, lon = float(values.lat[row]), float(values.lon[row])
            sog, cog = float(values.sog_mps[row]), float(values.cog_deg[row])
            report = AisReport(
                mmsi,
                None if lat != lat else lat,
                None if lon != lon else lon,
                None if sog != sog else sog,
                None if cog != cog else cog,
                name=identity.name,
                ship_type=identity.ship_type,
            )
        else:
            report = AisReport(mmsi, name=identity.name, callsign=identity.callsign, ship_type=identity.ship_type)
        return _Deferred(
            int(parsed.line[row]), report, int(parsed.msg_type[row]), 1, float(parsed.t[row]), parsed.station[row]
        )

    def _feed_slow(self, parsed: ParsedLines, good: np.ndarray) -> list[_Deferred]:
        """Feed the lines ``parse_lines`` left, in order, holding their reports back (``_Deferred``); before each,
        the multi-sentence timeouts run on the latest time of the common lines since the previous one."""
        slow = parsed.slow
        latest = np.full(len(slow) + 1, -math.inf)
        if good.any():
            stretch = np.searchsorted(np.asarray(slow, dtype=np.int64), parsed.line[good])
            np.maximum.at(latest, stretch, parsed.t[good])
        now = latest.tolist()
        assembler = self._assembler
        deferred: list[_Deferred] = []
        held: list[_Held] = []
        self._deferred, self._held = deferred, held
        pairs = static_pairs(parsed)
        tags = parsed.slow_tags
        taken = -1  # the second line of the latest pair read whole
        try:
            for k, (index, line) in enumerate(zip(slow, parsed.slow_lines, strict=True)):
                if assembler.pending and now[k] > -math.inf:
                    assembler.evict(now[k])
                if index == taken:
                    continue
                pair = pairs.get(index)
                if pair is not None and self._static_pair(pair, deferred):
                    taken = index + 1
                    continue
                self._line = index
                tag = tags.get(index)
                if tag is None:
                    self.feed(line)
                else:
                    self._feed_tagged(line, tag)
            self._held = None
            if held:
                self._decode_held(held)
        finally:
            self._deferred, self._held = None, None
        if assembler.pending and now[-1] > -math.inf:
            assembler.evict(now[-1])
        return deferred

    def _static_pair(self, pair: StaticPair, deferred: list[_Deferred]) -> bool:
        """What feeding a static's two adjacent fragment lines does (``nmea_columns.static_pairs``), without pyais:
        False, having done nothing ``feed`` would not do first, when a group of its key is open."""
        if not self._assembler.add_adjacent(pair.key, pair.t, pair.t):
            return False
        self._stats.bytes_read += pair.size
        self._timed = True
        self._remember_group(pair.group, pair.station)  # as _group_station_of does for a group's first sentence
        identity = pair.identity
        report = AisReport(pair.mmsi, name=identity.name, callsign=identity.callsign, ship_type=identity.ship_type)
        deferred.append(_Deferred(pair.first + 1, report, pair.msg_type, 2, pair.t, pair.station))
        return True

    def _decode_held(self, held: list[_Held]) -> None:
        """Decode the held-back messages: statics (type 5, type 24 A/B) in bulk (``ais_bulk.decode_statics``),
        the others by pyais; their reports are held back in turn."""
        bulk = [
            k
            for k, h in enumerate(held)
            if h.sentence.ais_id in (5, 24) and h.sentence.payload and not h.sentence.payload.translate(None, _ARMOUR)
        ]
        identities: list[StaticIdentity | None] = [None] * len(held)
        mmsis = [0] * len(held)
        if bulk:
            values = sixbit_rows([held[k].sentence.payload for k in bulk], STATIC_WIDTH)
            usable = np.array([len(held[k].sentence.bv) for k in bulk], dtype=np.int64)
            mmsi = decode_sixbit_positions(values[:, :WIDTH], usable).mmsi.tolist()
            first = values[:, 0].tolist()  # the type as the whole payload says; pyais goes by the first fragment's
            for k, identity, number, msg_type in zip(bulk, decode_statics(values, usable), mmsi, first, strict=True):
                if msg_type == held[k].sentence.ais_id:
                    identities[k], mmsis[k] = identity, number
        assert self._deferred is not None
        for h, identity, number in zip(held, identities, mmsis, strict=True):
            if identity is None:
                self._line = h.line
                self._decoded(h.sentence, h.units, h.t, h.station)
            else:
                report = AisReport(number, name=identity.name, callsign=identity.callsign, ship_type=identity.ship_type)
                self._deferred.append(_Deferred(h.line, report, h.sentence.ais_id, h.units, h.t, h.station))

    def _in_order(
        self, parsed: ParsedLines, rows: np.ndarray, deferred: list[_Deferred]
    ) -> tuple[list[int], list[Observation]]:
        """The held-back reports and the common rows ``rows`` through ``_apply_report``, in input order."""
        if not deferred and not len(rows):
            return [], []
        values = parsed.values
        row_list = rows.tolist()
        lats, lons = values.lat[rows].tolist(), values.lon[rows].tolist()
        sogs, cogs = values.sog_mps[rows].tolist(), values.cog_deg[rows].tolist()
        mmsis, types = parsed.mmsi[rows].tolist(), parsed.msg_type[rows].tolist()
        times, line_of = parsed.t[rows].tolist(), parsed.line[rows].tolist()
        items = sorted(
            [(line, 1, j) for j, line in enumerate(line_of)] + [(d.line, 0, j) for j, d in enumerate(deferred)]
        )
        lines_out: list[int] = []
        observations: list[Observation] = []
        for line, is_row, j in items:
            if is_row:
                lat, lon, sog, cog = lats[j], lons[j], sogs[j], cogs[j]
                report = AisReport(
                    mmsis[j],
                    None if lat != lat else lat,
                    None if lon != lon else lon,
                    None if sog != sog else sog,
                    None if cog != cog else cog,
                )
                got = self._apply_report(report, types[j], 1, times[j], parsed.station[row_list[j]])
            else:
                held = deferred[j]
                got = self._apply_report(held.report, held.msg_type, held.units, held.t, held.station)
            if got:
                lines_out.append(line)
                observations.extend(got)
        return lines_out, observations

    def _columns(
        self, parsed: ParsedLines, rows: np.ndarray, code: np.ndarray, keys: list[str], unique: np.ndarray
    ) -> tuple[ObservationBatch, np.ndarray]:
        """The common rows ``rows`` (platform ``keys[code]``, MMSI ``unique[code]``) through the range and jump
        gates column-wise: the batch of those that pass, and their line indices."""
        stats = self._stats
        values = parsed.values
        lat, lon = values.lat[rows], values.lon[rows]
        placed = ~(np.isnan(lat) | np.isnan(lon))
        stats.read += len(rows)
        stats.accepted += int(len(rows) - placed.sum())  # no position: nothing to gate, nothing to emit
        rows, code, lat, lon = rows[placed], code[placed], lat[placed], lon[placed]
        valid = (lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon <= 180.0)
        if self._range_limited:
            admit = self._range.admit
            valid &= np.array([admit(a, b) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)], dtype=bool)
        if not valid.all():
            stats.reject("implausible_value", int(len(valid) - valid.sum()))
            rows, code, lat, lon = rows[valid], code[valid], lat[valid], lon[valid]
        t = parsed.t[rows]
        gate = self._sea_gate
        settled = chain_admits(code, t, lat, lon, gate.anchors(keys), gate.limits)
        admitted = settled[code]
        last = np.full(len(keys), -1, dtype=np.int64)
        np.maximum.at(last, code, np.arange(len(code)))
        settle = np.flatnonzero(settled & (last >= 0))
        rows_of = last[settle]
        platforms = np.array(keys, dtype=object)
        gate.settle_many(platforms[settle].tolist(), t[rows_of].tolist(), lat[rows_of].tolist(), lon[rows_of].tolist())
        unsettled = np.flatnonzero(~admitted)
        if len(unsettled):
            t_list, lat_list, lon_list = t.tolist(), lat.tolist(), lon.tolist()
            for j in unsettled.tolist():
                admitted[j] = gate.admit(keys[code[j]], t_list[j], lat_list[j], lon_list[j])
        emitted = int(admitted.sum())
        if emitted < len(admitted):
            stats.reject("implausible_jump", len(admitted) - emitted)
        stats.accepted += emitted
        stats.observations += emitted
        rows, code = rows[admitted], code[admitted]
        n = len(rows)
        hits: list[int] = []
        if self._identified:
            used = np.flatnonzero(np.bincount(code, minlength=len(keys)))
            known_mmsi = np.fromiter(self._identified, dtype=np.int64, count=len(self._identified))
            hits = used[np.isin(unique[used], known_mmsi)].tolist()
        identities = [self._identities.get(keys[k]) for k in hits]
        known = bool(hits)
        stations = parsed.station[rows].tolist()

        def identity_column(field: str) -> list[Any] | None:
            if not known:
                return None
            given = [None if i is None else getattr(i, field) for i in identities]
            if all(value is None for value in given):  # every key in ``hits`` has rows: the column would be all None
                return None
            per_key = np.full(len(keys), None, dtype=object)
            per_key[hits] = given
            column: list[Any] = per_key[code].tolist()
            return column

        batch = ObservationBatch(
            source=SOURCE,
            t=t[admitted],
            platform_id=platforms[code].tolist(),
            lat=lat[admitted],
            lon=lon[admitted],
            alt_m=np.full(n, math.nan),
            sog_mps=values.sog_mps[rows],
            cog_deg=values.cog_deg[rows],
            vrate_mps=np.full(n, math.nan),
            domain=[Domain.SEA] * n,
            party=[None] * n,
            kind=[None] * n,
            transponder=np.ones(n, dtype=bool),
            callsign=identity_column("callsign"),
            name=identity_column("name"),
            ship_type=identity_column("ship_type"),
            station=None if all(station is None for station in stations) else stations,
        )
        return batch, parsed.line[rows]

    def _bulk_time(self, prepared: Prepared, row: int) -> tuple[float | None, str | None]:
        """Time and station of a bulk-decoded line, with the per-line reader's checks in its order."""
        t_line = prepared.leading_t[row]
        station: str | None = None
        tag = prepared.tag[row]
        if tag is not None:
            if not prepared.tag_ok[row]:
                raise Rejected("bad_checksum")
            fields = tag_fields(tag)
            station = fields[b"s"].decode() or None if b"s" in fields else None
            if b"c" in fields:
                try:
                    t_tag = _epoch(fields[b"c"])
                except ValueError:
                    raise Rejected("malformed") from None
                if not 0.0 <= t_tag < 1e10:
                    raise Rejected("malformed")
                t_line = t_tag
        if t_line is None and prepared.trailing[row]:
            t_line = _trailing_epoch(prepared.trailing[row])
        if not prepared.sentence_ok[row]:
            raise Rejected("bad_checksum")
        t = self._wrapped(t_line)
        if self._assembler.pending:
            now = self._data_time(t)
            if now is not None:
                self._assembler.evict(now)
        return t, station

    def _wrapped(self, t: float | None) -> float | None:
        """The sentence's time: its own, else that of a ``$PGHP`` wrapper before it (used up either way)."""
        if self._wrapper_t is not None:
            if t is None:
                t = self._wrapper_t
            self._wrapper_t = None
        return t

    def _data_time(self, t: float | None) -> float | None:
        """[s] the time multi-sentence timeouts run on: the input's own times once it has shown any,
        else the clock (a live feed without times); never a mix of both."""
        if t is not None:
            self._timed = True
            return t
        if self._timed or self._clock is None:
            return None
        return self._clock()

    def _group_station_of(self, tag: TagBlock) -> str | None:
        """Later sentences of a tag-block group often omit ``s:``: they belong to the first one's station."""
        assert tag.group is not None
        if tag.group_first:
            if tag.station is not None:
                self._remember_group(tag.group, tag.station)
            return tag.station
        return tag.station if tag.station is not None else self._group_station.get(tag.group)

    def _remember_group(self, group: str, station: str) -> None:
        """The station of a tag-block group's first sentence, for the later ones (at most 1000 groups kept)."""
        if len(self._group_station) >= 1000:
            del self._group_station[next(iter(self._group_station))]
        self._group_station[group] = station

    def _proprietary(self, text: bytes) -> tuple[Observation, ...]:
        if not text.startswith(b"$PGHP,"):
            raise Rejected("unsupported_type")
        try:
            wrapper = GatehouseSentence(text)
        except Exception:
            raise Rejected("malformed") from None
        if not wrapper.is_valid:
            raise Rejected("bad_checksum")
        self._wrapper_t = wrapper.timestamp.replace(tzinfo=UTC).timestamp()
        return self._accept()

    def _message(self, sentence: Any, units: int, t: float | None, station: str | None) -> tuple[Observation, ...]:
        if t is None:
            if self._clock is not None:
                t = self._clock()
            elif self._untimed is None:
                return self._reject("no_timestamp", units)
        if self._held is not None and t is not None:
            self._held.append(_Held(self._line, sentence, units, t, station))
            return NOTHING
        return self._decoded(sentence, units, t, station)

    def _decoded(self, sentence: Any, units: int, t: float | None, station: str | None) -> tuple[Observation, ...]:
        """The report of a sentence (a whole message) decoded by pyais; ``t`` None only with ``start_time``."""
        try:
            msg = sentence.decode()
        except UnknownMessageException:
            return self._reject("unsupported_type", units)
        except Exception:
            return self._reject("malformed", units)
        if t is None:
            assert self._untimed is not None
            t = self._untimed.at(getattr(msg, "second", None))
        try:
            if msg.msg_type not in SUPPORTED_TYPES:
                return self._reject("unsupported_type", units)
            if msg.mmsi is None:
                return self._reject("malformed", units)
            report = ais_report(msg)
        except Exception:
            return self._reject("malformed", units)
        if report is None:
            return self._reject("unsupported_type", units)
        return self._report(report, msg.msg_type, units, t, station)

    def _report(
        self, report: AisReport, msg_type: int, units: int, t: float, station: str | None
    ) -> tuple[Observation, ...]:
        """The observation of one decoded report at time ``t`` (identity memory and gates applied); held back
        for ``feed_columns`` while it feeds the lines it cannot read column-wise."""
        if self._deferred is not None:
            self._deferred.append(_Deferred(self._line, report, msg_type, units, t, station))
            return NOTHING
        return self._apply_report(report, msg_type, units, t, station)

    def _apply_report(
        self, report: AisReport, msg_type: int, units: int, t: float, station: str | None
    ) -> tuple[Observation, ...]:
        key = f"mmsi:{report.mmsi:09d}"
        changed = None
        if report.name is not None or report.callsign is not None or report.ship_type is not None:
            changed = self._identities.update(
                key, callsign=report.callsign, name=report.name, ship_type=report.ship_type
            )
            if changed is not None:
                self._identified.add(report.mmsi)
        lat, lon = report.lat, report.lon
        if msg_type in POSITION_TYPES and lat is not None and lon is not None:
            if not valid_lat_lon(lat, lon) or not self._range.admit(lat, lon):
                return self._reject("implausible_value", units)
            gate = self._air_gate if report.domain is Domain.AIR else self._sea_gate
            if not gate.admit(key, t, lat, lon):
                return self._reject("implausible_jump", units)
            identity = self._identities.get(key)
            return self._emit(
                Observation(
                    t,
                    key,
                    SOURCE,
                    lat,
                    lon,
                    alt_m=report.alt_m,
                    sog_mps=report.sog_mps,
                    cog_deg=report.cog_deg,
                    domain=report.domain,
                    callsign=identity.callsign if identity is not None else None,
                    name=identity.name if identity is not None else None,
                    ship_type=identity.ship_type if identity is not None else None,
                    station=station,
                ),
                units,
            )
        if changed is None:
            return self._accept(units)
        return self._emit(
            Observation(
                t,
                key,
                SOURCE,
                domain=Domain.SEA,
                callsign=changed.callsign,
                name=changed.name,
                ship_type=changed.ship_type,
                station=station,
            ),
            units,
        )

    def flush(self) -> tuple[Observation, ...]:
        """End of input: open multi-sentence groups become ``incomplete_multipart``."""
        self._assembler.flush()
        self._wrapper_t = None
        return NOTHING


def read_nmea(
    lines: Iterable[bytes], stats: IngestStats, options: ReaderOptions | None = None
) -> Iterator[Observation]:
    """Observations from AIS NMEA lines (bytes, with or without their line ending)."""
    return drive(NmeaDecoder(stats, options), lines)
