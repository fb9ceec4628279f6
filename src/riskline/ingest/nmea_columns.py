"""The columnar half of the AIS NMEA reader: a batch of lines parsed, checked and decoded as arrays of bytes.

``parse_lines`` looks at the bytes of a whole batch at once (NumPy over the joined lines, no Python per line;
``parse_block`` the same on a block of bytes, its lines found column-wise) and picks the lines in the common shape —
an optional leading POSIX time, an optional NMEA 4.10 tag block without a group (``g:``), then a single-sentence
``!xxVDM``/``!xxVDO`` (IEC 61162-1) with optional receiver fields after the checksum — whose message is one of: a
position report of type 1/2/3, 18 or 27 at its full length (``POSITION``); a static, type 5 or type 24 part A/B, as
long as its fields, or an extended class B position report, type 19 at its full 312 bits (``STATIC``: it has a
position and an identity, and goes with the statics, as each updates the identity memory); a type riskline does not
use, always ``unsupported_type`` (``OTHER``). For those it does what the per-line reader does before any state is
involved: both checksums (IEC 61162-1 §7.2.3 XOR, one cumulative XOR over the batch), the tag block's ``s:`` station
and ``c:`` time (digits only here), the leading epoch, the time in the receiver fields, and the field decoding
(``ais_bulk``, pyais its oracle). Each picked line gets its time and the reason it is rejected, if it is (a tag
block that repeats the line before's, as a receiver stamps the sentences of one second, is read once). Every other
line is left to the per-line reader (``NmeaDecoder.feed``), but for two helps: ``ParsedLines.slow_tags`` hands it
the tag blocks already read, and ``static_pairs`` reads the statics sent in two fragments on adjacent lines with
grouped tag blocks (``g:1-2-id``, ``g:2-2-id``). ``chain_admits`` is the jump gate (``gate.JumpGate``) run
optimistically on whole columns, ``BulkJumpGate`` the gate whose anchors it reads and settles at once.

Pure but for ``BulkJumpGate``: no I/O. ``NmeaDecoder.feed_columns`` and ``feed_block`` consume the results.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from riskline.ingest.ais_bulk import (
    STATIC_WIDTH,
    WIDTH,
    Reports,
    StaticIdentity,
    decode_sixbit_positions,
    decode_statics,
    reports,
    sixbit_rows,
)
from riskline.ingest.ais_fields import SUPPORTED_TYPES
from riskline.ingest.batch import ObservationBatch
from riskline.ingest.gate import _METRES_PER_DEGREE, GateLimits, JumpGate, distance_m

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

POSITION, STATIC, OTHER = 0, 1, 2
"""Kinds of rows: a position report (types 1-3, 18, 27), a static (5, 24 A/B) or a type 19 (position and
identity), a type riskline does not use."""

_UNUSED_TYPES = np.array([msg_type for msg_type in range(64) if msg_type not in SUPPORTED_TYPES], dtype=np.int64)
"""Types riskline does not use: a valid single sentence of one is always ``unsupported_type``, as pyais decodes every
one of them without fail (those with decoders of their own too: binary messages 6, 8, 25, 26, and 16, 22; the
tests check it on random payloads of each, and of every DAC/FID variant pyais knows) or not at all (unknown types)."""

OK, BAD_CHECKSUM, MALFORMED, NO_TIMESTAMP = 0, 1, 2, 3
REASONS = {BAD_CHECKSUM: "bad_checksum", MALFORMED: "malformed", NO_TIMESTAMP: "no_timestamp"}
"""Reason codes of ``ParsedLines.reason`` and the ``IngestStats`` reasons they stand for."""

_LEADING_EPOCH = re.compile(rb"(\d{9,10}(?:\.\d*)?)[\s,;]*(?=[!\\$])")
_PAD = b"\0" * 64  # read past the end of the batch without an index check
_DIGITS_MAX = 15  # [characters] longest all-digit ``c:`` read here (exact in a float64)
_POWERS = 10.0 ** np.arange(_DIGITS_MAX - 1, -1, -1)
_STATION_MAX = 32  # [characters] longest ``s:`` station read column-wise


def _table(members: bytes) -> BoolArray:
    table = np.zeros(256, dtype=bool)
    table[list(members)] = True
    return table


_SPACE = _table(b" \t\n\r\x0b\x0c")
_DIGIT = _table(b"0123456789")
_UPPER = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_UPPER_DIGIT = _DIGIT | _UPPER
_LOWER = _table(b"abcdefghijklmnopqrstuvwxyz")
_FILL = _table(b"012345")
_ARMOUR = b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
_ARMOURED = _table(_ARMOUR)
_HEX = np.full(256, -1, dtype=np.int64)
_HEX[list(b"0123456789ABCDEF")] = np.arange(16)
_SIXBIT = np.zeros(256, dtype=np.uint8)
_SIXBIT[list(b"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW")] = np.arange(40)
_SIXBIT[list(b"`abcdefghijklmnopqrstuvw")] = np.arange(40, 64)
_HEAD = np.frombuffer(b"!\0\0VDM,1,1,\0\0\0\0\0", dtype="<u8")
_HEAD_MASK = np.frombuffer(bytes([255, 0, 0, 255, 255, 255 - 2, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0]), dtype="<u8")
"""The first 16 bytes of ``!ttVDM,1,1,`` or ``!ttVDO,1,1,`` as two little-endian words, and the bits that say so: all
but the talker's two letters (checked on their own) and the bit that tells ``M`` (0x4D) from ``O`` (0x4F)."""
_NOT_ARMOUR = 64
_SIXBIT_OR_NOT = np.where(_ARMOURED, _SIXBIT, _NOT_ARMOUR).astype(np.uint8)
"""A character's 6-bit value, ``_NOT_ARMOUR`` for one that is not armouring."""


class SlowTag(NamedTuple):
    """What the per-line reader takes from a line's leading tag block, read column-wise."""

    offset: int
    """Where the sentence starts in the line."""
    t: float | None
    """[s] the ``c:`` time."""
    station: str | None


@dataclass(frozen=True, slots=True)
class ParsedLines:
    """A batch of lines with the bulk-decodable ones parsed; the arrays have one row per such line."""

    slow: list[int]
    """Indices of the lines the per-line reader must take, in input order."""
    slow_lines: list[bytes]
    """Those lines."""
    line: IntArray
    """Per row: the index of its line."""
    fast_bytes: int
    """Bytes of the rows' lines."""
    reason: IntArray
    """Per row: ``OK`` or the code of the reason it is rejected (``REASONS``), before any state is consulted."""
    t: FloatArray
    """[s] per row: the line's time (NaN: none; then the reason is not ``OK``)."""
    station: npt.NDArray[np.object_]
    """Per row: the tag block's ``s:`` station (str or None)."""
    kind: IntArray
    """Per row: ``POSITION``, ``STATIC`` or ``OTHER``."""
    msg_type: IntArray
    mmsi: IntArray
    values: Reports
    """Per row: the position report's values (meaningful on ``POSITION`` rows and type 19 ``STATIC`` rows only)."""
    identity: dict[int, StaticIdentity]
    """The identity each ``STATIC`` row gives, by row."""
    slow_tags: dict[int, SlowTag]
    """Lines among ``slow`` that start with a tag block this function has read and found right, by line."""


def _gather(arr: npt.NDArray[np.uint8], start: IntArray, width: int) -> npt.NDArray[np.uint8]:
    """``width`` bytes from each start (rows, none negative), read from the padded buffer: a copy of the rows of
    a sliding-window view, one contiguous run each."""
    gathered: npt.NDArray[np.uint8] = np.lib.stride_tricks.sliding_window_view(arr, width)[start]
    return gathered


def _stations(
    arr: npt.NDArray[np.uint8],
    joined: bytes,
    lines: IntArray,
    start: IntArray,
    end: IntArray,
    out: npt.NDArray[np.object_],
) -> None:
    """``out[line]``: the station text ``joined[start:end]`` (None when empty) of each line; stations of up to
    ``_STATION_MAX`` printable characters are read as fixed-width byte strings, each distinct one decoded once."""
    short = end - start <= 8
    if short.any():  # most stations: up to 8 characters, one integer each
        rows, width = lines[short], (end - start)[short]
        inside = np.arange(8) < width[:, None]
        chars = np.where(inside, _gather(arr, start[short], 8), np.uint8(0))
        plain = ((chars > 32) | ~inside).all(axis=1)
        words = chars.view("<u8").ravel()[plain]
        rows = rows[plain]
        for _ in range(4):  # a batch seldom has more than a few stations: take them one at a time
            if not len(rows):
                break
            same = words == words[0]
            out[rows[same]] = int(words[0]).to_bytes(8, "little").rstrip(b"\0").decode() or None
            rows, words = rows[~same], words[~same]
        if len(rows):
            distinct_words, which_word = np.unique(words, return_inverse=True)
            names = np.empty(len(distinct_words), dtype=object)
            names[:] = [int(w).to_bytes(8, "little").rstrip(b"\0").decode() or None for w in distinct_words.tolist()]
            out[rows] = names[which_word]
        keep = ~short
        keep[np.flatnonzero(short)[~plain]] = True  # left to the lines below, one by one
        lines, start, end = lines[keep], start[keep], end[keep]
    width = end - start
    chars = _gather(arr, start, _STATION_MAX)
    inside = np.arange(_STATION_MAX) < width[:, None]
    chars[~inside] = 0
    plain = (width <= _STATION_MAX) & ((chars > 32) | ~inside).all(axis=1)
    rows, chars = lines[plain], chars[plain]
    words = np.ascontiguousarray(chars).view("<u8").reshape(len(rows), _STATION_MAX // 8)
    for _ in range(4):  # a batch seldom has more than a few stations: take them one at a time
        if not len(rows):
            break
        same = (words == words[0]).all(axis=1)
        out[rows[same]] = chars[0].tobytes().rstrip(b"\0").decode() or None
        rows, chars, words = rows[~same], chars[~same], words[~same]
    if len(rows):
        short = (words[:, 1:] == 0).all(axis=1)  # up to 8 characters: one integer each
        distinct_words, which_word = np.unique(words[short, 0], return_inverse=True)
        names = np.empty(len(distinct_words), dtype=object)
        names[:] = [int(word).to_bytes(8, "little").rstrip(b"\0").decode() or None for word in distinct_words.tolist()]
        out[rows[short]] = names[which_word]
        rows, chars = rows[~short], chars[~short]
    if len(rows):
        texts = np.ascontiguousarray(chars).view(f"S{_STATION_MAX}").ravel()  # NUL padding dropped
        distinct, which = np.unique(texts, return_inverse=True)
        names = np.empty(len(distinct), dtype=object)
        names[:] = [text.decode() or None for text in distinct.tolist()]
        out[rows] = names[which]
    for line, a, b in zip(lines[~plain].tolist(), start[~plain].tolist(), end[~plain].tolist(), strict=True):
        out[line] = joined[a:b].decode() or None


_SAME_MAX = 64  # [bytes] longest tag block compared whole with the previous line's
_LENGTH_MASKS = np.array(
    [[(1 << (8 * min(max(length - 8 * word, 0), 8))) - 1 for word in range(_SAME_MAX // 8)] for length in range(66)],
    dtype=np.uint64,
)
"""Row ``length``: the words of ``_SAME_MAX`` bytes read as little-endian words with only their first ``length`` bytes
kept (65: as 64)."""


def _repeats_previous(arr: npt.NDArray[np.uint8], p: IntArray, q: IntArray) -> BoolArray:
    """Per tagged row: the bytes of its tag block (``p`` to ``q`` inclusive, up to ``_SAME_MAX``) are those of the
    row before (a receiver stamps every sentence of a second with one tag block): compared as 8-byte words."""
    length = q - p + 1
    words = _gather(arr, p, _SAME_MAX).view("<u8")
    words &= _LENGTH_MASKS[np.minimum(length, _SAME_MAX + 1)]
    same = np.zeros(len(p), dtype=bool)
    same[1:] = (length[1:] == length[:-1]) & (length[1:] <= _SAME_MAX) & (words[1:] == words[:-1]).all(axis=1)
    return same


class _TagBlocks(NamedTuple):
    """What ``_tag_blocks`` reads of each tag block."""

    good: BoolArray
    """In the shape read here: ``\\fields*hh\\``, fields ``k:value``, no ``g:``, at most one ``c:`` and ``s:``."""
    t: FloatArray
    """[s] the ``c:`` time (NaN: none)."""
    malformed: BoolArray
    """The ``c:`` time is 1e10 s or later."""
    sum_ok: BoolArray
    """The checksum is right."""
    station: npt.NDArray[np.object_]
    """The ``s:`` station (str or None)."""


def _tag_blocks(
    arr: npt.NDArray[np.uint8],
    joined: bytes,
    p: IntArray,
    q: IntArray,
    stars: IntArray,
    commas: IntArray,
    xor: _XorPrefix,
) -> _TagBlocks:
    """The tag blocks from each backslash ``p`` to the next one, ``q`` (``p`` where there is none): what the per-line
    reader takes from them (``nmea._tag_block``), decided by their bytes alone."""
    count_rows = len(p)
    t = np.full(count_rows, math.nan)
    malformed = np.zeros(count_rows, dtype=bool)
    station = np.full(count_rows, None, dtype=object)
    good = q > p
    ks = np.searchsorted(stars, p)
    star = stars[np.minimum(ks, len(stars) - 1)] if len(stars) else p
    good &= (ks < len(stars)) & (star == q - 3) & (q - 3 > p + 1)
    qc = np.maximum(q, 3)
    hi, lo = _HEX[arr[qc - 2]], _HEX[arr[qc - 1]]
    good &= (hi >= 0) & (lo >= 0)
    # fields: the starts are the tag's first byte and every byte after a comma inside it
    region_end = np.where(good, q - 3, p + 1)
    c_lo = np.searchsorted(commas, p + 1)
    c_hi = np.maximum(np.searchsorted(commas, region_end), c_lo)
    count = c_hi - c_lo
    total = int(count.sum())
    inner = np.repeat(c_lo - (np.cumsum(count) - count), count) + np.arange(total)
    # in position order as they are (rows in line order, each row's fields inside its line): row by row
    owner = np.repeat(np.arange(count_rows), count + 1)
    first_field = np.arange(count_rows) + np.cumsum(count) - count
    field_start = np.empty(len(owner), dtype=np.int64)
    after_comma = np.ones(len(owner), dtype=bool)
    after_comma[first_field] = False
    field_start[first_field] = p + 1
    field_start[after_comma] = commas[inner] + 1
    same_next = np.zeros(len(owner), dtype=bool)
    same_next[:-1] = owner[1:] == owner[:-1]
    field_end = region_end[owner]
    field_end[:-1] = np.where(same_next[:-1], field_start[1:] - 1, field_end[:-1])
    key = arr[field_start]
    bad_field = (field_end - field_start < 2) | ~_LOWER[key] | (arr[field_start + 1] != ord(":"))
    is_c, is_s = key == ord("c"), key == ord("s")
    per_row = np.bincount(owner, minlength=count_rows)
    bad = (np.bincount(owner, weights=bad_field | (key == ord("g")), minlength=count_rows) > 0) | (per_row == 0)
    bad |= np.bincount(owner, weights=is_c, minlength=count_rows) > 1
    bad |= np.bincount(owner, weights=is_s, minlength=count_rows) > 1
    # c: digits only, read as an integer (exact), milliseconds above 1e11 (as nmea._epoch)
    c_fields = np.flatnonzero(is_c & ~bad_field)
    if len(c_fields):
        c_start, c_end = field_start[c_fields] + 2, field_end[c_fields]
        width = c_end - c_start
        first_digit = c_end - _DIGITS_MAX
        digits = _gather(arr, np.maximum(first_digit, 0), _DIGITS_MAX)
        early = np.flatnonzero(first_digit < 0)  # the window starts before the batch: read as it wraps
        digits[early] = arr[first_digit[early, None] + np.arange(_DIGITS_MAX)]
        digits -= np.uint8(48)  # wraps below "0": > 9
        inside = np.arange(_DIGITS_MAX) >= (_DIGITS_MAX - width)[:, None]
        digits[~inside] = 0
        plain = (width >= 1) & (width <= _DIGITS_MAX) & (digits <= 9).all(axis=1)
        bad[owner[c_fields[~plain]]] = True
        seconds = digits @ _POWERS  # exact: integers below 2**53 all along
        seconds = np.where(seconds > 1e11, seconds / 1000.0, seconds)
        t[owner[c_fields]] = seconds
        malformed[owner[c_fields]] = seconds >= 1e10
    good &= ~bad
    sum_ok = (xor.at(p + 1) ^ xor.at(region_end)).astype(np.int64) == (hi * 16 + lo)
    s_fields = np.flatnonzero(is_s & ~bad_field)
    _stations(arr, joined, owner[s_fields], field_start[s_fields] + 2, field_end[s_fields], station)
    return _TagBlocks(good, t, malformed, sum_ok, station)


def _trailing_epoch(trailing: bytes) -> float | None:
    for field in trailing.split(b","):
        digits = field.split(b".", 1)[0]
        if 9 <= len(digits) <= 10 and digits.isdigit() and field.replace(b".", b"", 1).isdigit():
            return float(field)
    return None


def parse_lines(lines: Sequence[bytes], joined: bytes) -> ParsedLines:
    """Pick and decode the bulk-decodable lines of a batch (see the module's docstring); ``joined`` is
    ``b"".join(lines)``."""
    lengths = np.fromiter(map(len, lines), dtype=np.int64, count=len(lines))
    ends = np.cumsum(lengths)
    return _parse(joined, np.frombuffer(joined + _PAD, dtype=np.uint8), ends - lengths, ends)


def parse_block(block: bytes) -> ParsedLines:
    """``parse_lines`` of the lines of a block of bytes (``textlines.block_lines``: each line up to and with its
    ``\\n``, the last perhaps without), found column-wise."""
    arr = np.frombuffer(block + _PAD, dtype=np.uint8)
    ends = np.flatnonzero(arr[: len(block)] == ord("\n")) + 1
    if not block.endswith(b"\n"):
        ends = np.append(ends, len(block))
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1]
    return _parse(block, arr, starts, ends)


def _parse(joined: bytes, arr: npt.NDArray[np.uint8], starts: IntArray, ends: IntArray) -> ParsedLines:
    """``parse_lines`` of the lines ``joined[starts[k]:ends[k]]`` (``arr``: ``joined`` then ``_PAD``)."""
    n = len(starts)
    lengths = ends - starts
    size = len(joined)

    end = ends.copy()  # after stripping trailing white space (3 characters at most here)
    for _ in range(3):
        end -= (end > starts) & _SPACE[arr[end - 1]]
    first = arr[starts]
    ok = (end > starts) & ~_SPACE[arr[end - 1]] & ((first == ord("!")) | (first == ord("\\")) | _DIGIT[first])
    if not joined.isascii():
        high = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(arr[:size] >= 128, out=high[1:])
        ok &= high[end] == high[starts]

    at = starts.copy()  # where the tag block or the sentence starts
    leading_t = np.full(n, math.nan)
    for k in np.flatnonzero(ok & _DIGIT[first]).tolist():
        found = _LEADING_EPOCH.match(joined, int(starts[k]), int(end[k]))
        if found is None:
            ok[k] = False
        else:
            at[k] = found.end()
            leading_t[k] = float(found.group(1))

    backslashes = np.flatnonzero(arr[:size] == ord("\\"))
    stars = np.flatnonzero(arr[:size] == ord("*"))
    commas = np.flatnonzero(arr[:size] == ord(","))

    # --- tag blocks: \fields*hh\ with fields "k:value" separated by commas -------------------------------------
    tagged = ok & (arr[at] == ord("\\"))
    rows = np.flatnonzero(tagged)
    tag_t = np.full(n, math.nan)
    tag_malformed = np.zeros(n, dtype=bool)
    tag_sum_ok = np.ones(n, dtype=bool)
    sentence = at.copy()
    station = np.full(n, None, dtype=object)
    tag_ready = np.zeros(n, dtype=bool)
    xor = _XorPrefix(arr, size)
    if len(rows):
        p = at[rows]
        after = np.searchsorted(backslashes, p + 1)
        closed = after < len(backslashes)
        q = np.where(closed, backslashes[np.minimum(after, len(backslashes) - 1)], p)  # a tagged line has one
        lead = ~_repeats_previous(arr, p, q)
        led = np.cumsum(lead) - 1  # per row: its leader among the rows that lead
        leaders = np.flatnonzero(lead)
        tags = _tag_blocks(arr, joined, p[leaders], q[leaders], stars, commas, xor)
        good = tags.good[led] & closed & (q + 1 < end[rows])
        tag_t[rows] = tags.t[led]
        tag_malformed[rows] = tags.malformed[led]
        tag_sum_ok[rows] = tags.sum_ok[led]
        station[rows] = tags.station[led]
        ok[rows[~good]] = False
        sentence[rows] = np.where(good, q + 1, p)
        tag_ready[rows] = good & tag_sum_ok[rows] & ~tag_malformed[rows] & (p == starts[rows])

    # --- the sentence: !ttVDM,1,1,[seq],[channel],payload,fill*hh -----------------------------------------------
    b = sentence
    head = _gather(arr, b, 16).view("<u8")
    ok &= ((head[:, 0] & _HEAD_MASK[0]) == _HEAD[0]) & ((head[:, 1] & _HEAD_MASK[1]) == _HEAD[1])
    ok &= _UPPER[arr[b + 1]] & _UPPER[arr[b + 2]]
    k3 = np.searchsorted(commas, b + 11)
    ok &= k3 + 2 < len(commas)
    k3 = np.minimum(k3, max(len(commas) - 3, 0))
    if len(commas) < 3:
        ok[:] = False
        c3 = c4 = c5 = b
    else:
        c3, c4, c5 = commas[k3], commas[k3 + 1], commas[k3 + 2]
    seq = c3 - (b + 11)
    channel = c4 - c3 - 1
    ok &= (seq == 0) | ((seq == 1) & _DIGIT[arr[b + 11]])
    ok &= (channel == 0) | ((channel == 1) & _UPPER_DIGIT[arr[c3 + 1]])
    ok &= (c5 > c4 + 1) & (c5 + 5 <= end) & _FILL[arr[c5 + 1]] & (arr[c5 + 2] == ord("*"))
    ok &= (_HEX[arr[c5 + 3]] >= 0) & (_HEX[arr[c5 + 4]] >= 0)
    rows = np.flatnonzero(ok)
    payload_start, payload_end = c4[rows] + 1, c5[rows]
    length = payload_end - payload_start
    six = _SIXBIT_OR_NOT[_gather(arr, payload_start, WIDTH)]  # the first WIDTH characters, then the rest
    short = np.flatnonzero(length < WIDTH)
    six[short] *= np.arange(WIDTH) < length[short, None]  # beyond the payload: 0, as ``sixbit_rows`` pads
    armoured = six.max(axis=1, initial=0) < _NOT_ARMOUR
    longer = np.flatnonzero(armoured & (length > WIDTH))
    rest_start, rest_end = (payload_start[longer] + WIDTH).tolist(), payload_end[longer].tolist()
    for k, a, z in zip(longer.tolist(), rest_start, rest_end, strict=True):
        armoured[k] = not joined[a:z].translate(None, _ARMOUR)
    if not armoured.all():
        rows, payload_start, length, six = rows[armoured], payload_start[armoured], length[armoured], six[armoured]
    usable = 6 * length - (arr[c5[rows] + 1].astype(np.int64) - 48)  # [bits]
    batch = decode_sixbit_positions(six, usable)
    kind = np.full(len(rows), -1, dtype=np.int64)
    kind[batch.complete] = POSITION
    kind[np.isin(batch.msg_type, _UNUSED_TYPES) & (usable >= 6)] = OTHER
    maybe_static = np.flatnonzero(np.isin(batch.msg_type, (5, 19, 24)))
    identity: dict[int, StaticIdentity] = {}
    static_chars = _gather(arr, payload_start[maybe_static], STATIC_WIDTH)
    static_chars[np.arange(STATIC_WIDTH) >= length[maybe_static, None]] = ord("0")
    statics = decode_statics(_SIXBIT[static_chars], usable[maybe_static])
    for row, static in zip(maybe_static.tolist(), statics, strict=True):
        if static is not None:
            identity[row] = static
            kind[row] = STATIC
    keep = kind >= 0
    rows = rows[keep]
    renumbered = np.cumsum(keep) - 1  # the row each kept one becomes

    # --- times, checksums, reasons ------------------------------------------------------------------------------
    bang, c5r = b[rows], c5[rows]
    sentence_ok = (xor.at(bang + 1) ^ xor.at(c5r + 2)).astype(np.int64) == _HEX[arr[c5r + 3]] * 16 + _HEX[arr[c5r + 4]]
    t = np.where(np.isnan(tag_t[rows]), leading_t[rows], tag_t[rows])
    untimed = np.flatnonzero(np.isnan(t) & (c5r + 5 < end[rows]))
    for row, a, z in zip(untimed.tolist(), (c5r[untimed] + 5).tolist(), end[rows[untimed]].tolist(), strict=True):
        epoch = _trailing_epoch(joined[a:z])
        if epoch is not None:
            t[row] = epoch
    reason = np.full(len(rows), OK, dtype=np.int64)
    reason[np.isnan(t)] = NO_TIMESTAMP
    reason[~sentence_ok] = BAD_CHECKSUM
    reason[tag_malformed[rows]] = MALFORMED
    reason[~tag_sum_ok[rows]] = BAD_CHECKSUM
    fast = np.zeros(n, dtype=bool)
    fast[rows] = True
    values = reports(batch)
    ready = np.flatnonzero(tag_ready & ~fast)
    slow_tags = {
        line: SlowTag(offset, None if t != t else t, name)
        for line, offset, t, name in zip(
            ready.tolist(),
            (sentence[ready] - starts[ready]).tolist(),
            tag_t[ready].tolist(),
            station[ready].tolist(),
            strict=True,
        )
    }
    slow = np.flatnonzero(~fast)
    return ParsedLines(
        slow=slow.tolist(),
        slow_lines=[joined[a:z] for a, z in zip(starts[slow].tolist(), ends[slow].tolist(), strict=True)],
        line=rows,
        fast_bytes=int(lengths[rows].sum()),
        reason=reason,
        t=t,
        station=station[rows],
        kind=kind[keep],
        msg_type=batch.msg_type[keep],
        mmsi=batch.mmsi[keep],
        values=Reports(values.lat[keep], values.lon[keep], values.sog_mps[keep], values.cog_deg[keep]),
        identity=dict(zip(renumbered[list(identity)].tolist(), identity.values(), strict=True)),
        slow_tags=slow_tags,
    )


_PAIR = re.compile(
    rb"\s*\\(g:1-2-([0-9]{1,9}),s:([A-Za-z0-9_.-]{1,32}),c:([0-9]{9,10})(?:,t:[0-9]{1,10})?)\*([0-9A-F]{2})\\"
    rb"!(([A-Z]{2})VD[MO],2,1,([0-9]?),([A-Z0-9]?),([0-9:;<=>?@A-W`a-w]{1,200}),[0-5])\*([0-9A-F]{2})\s*"
    rb"\\(g:2-2-\2(?:,s:\3)?)\*([0-9A-F]{2})\\"
    rb"!(\7VD[MO],2,2,\8,\9,([0-9:;<=>?@A-W`a-w]{1,200}),([0-5]))\*([0-9A-F]{2})\s*"
)
"""Two adjacent lines holding the fragments of one message in the plain shape: the first's tag block ``g:1-2-id``,
``s:``, ``c:`` (9-10 digits) and perhaps ``t:``; the second's ``g:2-2-id`` and perhaps the same ``s:``; the same
talker, sequence id and channel; nothing after either checksum."""
_SUMMED = (1, 6, 12, 14)  # groups of ``_PAIR`` whose checksum follows them
_SUMS = (5, 11, 13, 17)


@dataclass(frozen=True, slots=True)
class StaticPair:
    """A static (type 5, type 24) sent in two sentences on two adjacent lines, tagged as one group (NMEA 4.10
    ``g:1-2-id`` then ``g:2-2-id``), read without pyais: what the per-line reader would make of it if no group of
    its key were open."""

    first: int
    """Index of the first fragment's line (the second's is the next)."""
    size: int
    """[bytes] of both lines."""
    key: tuple[str | None, str, int | None, str, int]
    """The ``nmea_assembly.GroupKey`` of its fragments: station, talker, sequence id, channel, 2."""
    group: str
    """Tag-block group id (as ``nmea.TagBlock.group``)."""
    station: str
    t: float
    """[s] the first fragment's ``c:`` time."""
    msg_type: int
    mmsi: int
    identity: StaticIdentity


def static_pairs(parsed: ParsedLines) -> dict[int, StaticPair]:
    """The statics in two fragments on adjacent lines among those ``parse_lines`` left (``parsed.slow``), by their
    first line: the two lines in the shape of ``_PAIR`` with all four checksums right (IEC 61162-1 XOR), the joined
    payload a type 5 or 24 that ``decode_statics`` reads (pyais its oracle). Anything else is left to the per-line
    reader."""
    found: list[tuple[int, re.Match[bytes]]] = []
    slow, lines = parsed.slow, parsed.slow_lines
    for k in range(len(slow) - 1):
        if slow[k + 1] == slow[k] + 1 and b"g:1-2-" in lines[k]:
            match = _PAIR.fullmatch(lines[k] + lines[k + 1])
            if match is not None:
                found.append((slow[k], match))
    if not found:
        return {}
    texts = [match.string for _, match in found]
    base = np.zeros(len(texts), dtype=np.int64)
    base[1:] = np.cumsum([len(text) for text in texts[:-1]])
    regs = [m.span(group) for _, m in found for group in _SUMMED]
    spans = np.fromiter(itertools.chain.from_iterable(regs), dtype=np.int64, count=2 * len(regs))
    spans = spans.reshape(len(found), len(_SUMMED), 2)
    hexes = b"".join([b"".join(match.group(*_SUMS)) for _, match in found])
    given = np.frombuffer(bytes.fromhex(hexes.decode()), dtype=np.uint8).reshape(len(found), len(_SUMS))
    joined = b"".join(texts)
    xor = _prefix_xor(np.frombuffer(joined, dtype=np.uint8), len(joined))
    spans += base[:, None, None]
    summed = np.all((xor[spans[:, :, 1]] ^ xor[spans[:, :, 0]]) == given, axis=1).tolist()
    found = [pair for pair, right in zip(found, summed, strict=True) if right]
    if not found:
        return {}
    payloads = [match.group(10) + match.group(15) for _, match in found]
    values = sixbit_rows(payloads, STATIC_WIDTH)
    usable = np.array(
        [6 * len(payload) - int(match.group(16)) for payload, (_, match) in zip(payloads, found, strict=True)],
        dtype=np.int64,
    )
    mmsi = decode_sixbit_positions(values[:, :WIDTH], usable).mmsi.tolist()
    pairs: dict[int, StaticPair] = {}
    for (index, match), identity, number, msg_type in zip(
        found, decode_statics(values, usable), mmsi, values[:, 0].tolist(), strict=True
    ):
        if identity is None or msg_type not in (5, 24):
            continue
        station = match.group(3).decode()
        seq = match.group(8)
        key = (station, match.group(7).decode(), int(seq) if seq else None, match.group(9).decode(), 2)
        t = float(match.group(4))
        pairs[index] = StaticPair(
            index, len(match.string), key, str(int(match.group(2))), station, t, msg_type, number, identity
        )
    return pairs


class _XorPrefix:
    """The XOR of the first ``k`` bytes of a buffer for many ``k`` (a range's checksum is ``at(end) ^ at(start)``),
    from a prefix XOR over 8-byte words: a word's bytes XOR to what its bytes' XOR is, folded."""

    __slots__ = ("_prefix", "_words")

    def __init__(self, arr: npt.NDArray[np.uint8], size: int) -> None:
        count = size // 8 + 1  # [words] ``arr`` runs on past ``size`` (the padding)
        self._words = arr[: 8 * count].view("<u8")
        self._prefix = np.zeros(count + 1, dtype=np.uint64)
        np.bitwise_xor.accumulate(self._words, out=self._prefix[1:])

    def at(self, k: IntArray) -> npt.NDArray[np.uint8]:
        word = k >> 3
        below = (np.uint64(1) << (np.uint64(8) * (k & 7).astype(np.uint64))) - np.uint64(1)  # the bytes before k
        value = self._prefix[word] ^ (self._words[word] & below)
        value ^= value >> np.uint64(32)
        value ^= value >> np.uint64(16)
        value ^= value >> np.uint64(8)
        folded: npt.NDArray[np.uint8] = value.astype(np.uint8)
        return folded


def _prefix_xor(arr: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """``x[k]``: the XOR of the first ``k`` bytes (a range's checksum is ``x[end] ^ x[start]``)."""
    prefix = np.zeros(size + 1, dtype=np.uint8)
    if size:
        np.bitwise_xor.accumulate(arr[:size], out=prefix[1:])
    return prefix


class BulkJumpGate(JumpGate):
    """``JumpGate`` whose anchors can be read and settled for many platforms at once (``chain_admits``)."""

    __slots__ = ()

    @property
    def limits(self) -> GateLimits:
        return GateLimits(self._max_speed, self._slack, self._reset_after)

    def anchors(self, keys: Sequence[str]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """[s], [deg], [deg] each platform's anchor (NaN where it has none)."""
        nothing = (math.nan, math.nan, math.nan)
        known = map(self._anchor.get, keys, itertools.repeat(nothing))
        flat = np.fromiter(itertools.chain.from_iterable(known), dtype=np.float64, count=3 * len(keys))
        table = flat.reshape(len(keys), 3)
        return table[:, 0], table[:, 1], table[:, 2]

    def settle_many(self, keys: list[str], t: list[float], lat: list[float], lon: list[float]) -> None:
        """What ``admit`` leaves for platforms whose fixes all agreed in time order, the last ones ``t, lat, lon``."""
        self._anchor.update(zip(keys, zip(t, lat, lon, strict=True), strict=True))
        if self._candidate:
            for key in self._candidate.keys() & set(keys):
                del self._candidate[key]


def interleave(first: ObservationBatch, second: ObservationBatch, at: IntArray) -> ObservationBatch:
    """The rows of both batches, each kept in its order, ``second``'s row ``j`` put before ``first``'s row
    ``at[j]`` (``at`` not decreasing; ``len(first)``: at the end): a merge, ``first`` copied in slices."""
    columns: dict[str, Any] = {"source": first.source}
    n1, n2 = len(first), len(second)
    places = at.tolist()
    for field in dataclasses.fields(ObservationBatch):
        if field.name == "source":
            continue
        a, b = getattr(first, field.name), getattr(second, field.name)
        if isinstance(a, np.ndarray):
            columns[field.name] = np.insert(a, at, b)
        elif a is None and b is None:
            columns[field.name] = None
        else:
            left = a if a is not None else [None] * n1
            right = b if b is not None else [None] * n2
            merged: list[Any] = []
            done = 0
            for place, value in zip(places, right, strict=True):
                merged += left[done:place]
                merged.append(value)
                done = place
            merged += left[done:]
            columns[field.name] = merged
    return ObservationBatch(**columns)


def chain_admits(
    code: IntArray,
    t: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    anchor: tuple[FloatArray, FloatArray, FloatArray],
    limits: GateLimits,
) -> BoolArray:
    """Per platform (``code`` indexes ``anchor``): True when each of its fixes (rows in input order) agrees with
    the one before it (the first with the anchor, if any) and times never decrease — then ``JumpGate.admit``
    admits every one and the last becomes the anchor. Agreement is decided exactly as ``JumpGate`` does: the
    same bound in the same floating-point operations, and the haversine by ``gate.distance_m`` itself."""
    keys = len(anchor[0])
    order = np.argsort(code, kind="stable")
    c, tt, la, lo = code[order], t[order], lat[order], lon[order]
    first = np.ones(len(c), dtype=bool)
    first[1:] = c[1:] != c[:-1]
    prev_t, prev_lat, prev_lon = np.empty_like(tt), np.empty_like(la), np.empty_like(lo)
    prev_t[1:], prev_lat[1:], prev_lon[1:] = tt[:-1], la[:-1], lo[:-1]
    prev_t[first], prev_lat[first], prev_lon[first] = anchor[0][c[first]], anchor[1][c[first]], anchor[2][c[first]]
    has_prev = ~np.isnan(prev_t)
    allowed = limits.max_speed * np.abs(tt - prev_t) + limits.slack  # [m]
    with np.errstate(invalid="ignore"):
        agrees = (np.abs(la - prev_lat) + np.abs(lo - prev_lon)) * _METRES_PER_DEGREE <= allowed
        for k in np.flatnonzero(has_prev & ~agrees).tolist():
            agrees[k] = distance_m(float(prev_lat[k]), float(prev_lon[k]), float(la[k]), float(lo[k])) <= allowed[k]
        fine = ~has_prev | (agrees & (tt >= prev_t))
    settled = np.ones(keys, dtype=bool)
    settled[c[~fine]] = False
    return settled


__all__ = [
    "OTHER",
    "POSITION",
    "REASONS",
    "STATIC",
    "BulkJumpGate",
    "ParsedLines",
    "StaticPair",
    "chain_admits",
    "interleave",
    "parse_block",
    "parse_lines",
    "static_pairs",
]
