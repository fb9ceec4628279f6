"""The bulk half of the AIS NMEA reader: a batch of lines parsed, checksummed and decoded at once.

``prepare`` looks at a batch of lines and picks those in the common shape — an optional leading POSIX time,
an optional NMEA 4.10 tag block without a group (``g:``), then a single-sentence ``!xxVDM``/``!xxVDO`` with a
position report of type 1/2/3, 18 or 27 at its full length and optional receiver fields after the checksum.
For those it does what pyais would do per line, for the whole batch at once: both checksums (tag block and
sentence, IEC 61162-1 §7.2.3 XOR, with one cumulative XOR over the joined bytes) and the field decoding
(``ais_bulk``). Every other line — multi-sentence messages, statics, ``$PGHP`` wrappers, grouped tag blocks,
lower-case checksums, anything unusual — is left to the per-line reader (``NmeaDecoder.feed``), which the
decoder calls in the line's turn, so the stateful steps (wrappers, multi-sentence assembly, identities, jump
gate) see every line in input order and a batch gives exactly what the lines fed one by one give.

Pure: no state, no I/O. ``NmeaDecoder.feed_lines`` consumes the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from riskline.ingest.ais_bulk import FIRST_CHARACTER, Reports, decode_positions, reports

_FAST = re.compile(
    rb"(?:(\d{9,10}(?:\.\d*)?)[\s,;]*)?"  # leading POSIX time
    rb"(?:\\([a-z]:[^\\*,]*(?:,[a-z]:[^\\*,]*)*)\*([0-9A-F]{2})\\)?"  # tag block: fields, checksum
    rb"!([A-Z]{2}VD[MO],1,1,[0-9]?,[A-Z0-9]?,([0-9:;<=>?@A-W`a-w]+),([0-5]))\*([0-9A-F]{2})"  # sentence
    rb"(.*)",  # receiver fields after the checksum
    re.DOTALL,
)
_HEX = {f"{value:02X}".encode(): value for value in range(256)}


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch of lines, with the bulk-decodable ones parsed; rows of the arrays follow ``rows``."""

    lines: Sequence[bytes]
    fast: list[int]
    """Per line: the row of its bulk decoding, or -1 for a line the per-line reader handles."""
    leading_t: list[float | None]
    """[s] per row: the leading POSIX time, if any."""
    tag: list[bytes | None]
    """Per row: the tag block's fields (without checksum), if any."""
    trailing: list[bytes]
    """Per row: what followed the sentence's checksum."""
    tag_ok: list[bool]
    """Per row: the tag block's checksum matches (True without a tag block)."""
    sentence_ok: list[bool]
    """Per row: the sentence's checksum matches."""
    msg_type: list[int]
    mmsi: list[int]
    second: list[int]
    """Per row: the report's UTC second (-1 for type 27, which has none)."""
    values: Reports


def _xor_checksums(bodies: list[bytes]) -> list[int]:
    """The XOR of the bytes of each body (IEC 61162-1 checksum), all at once."""
    if not bodies:
        return []
    lengths = np.fromiter((len(b) for b in bodies), dtype=np.int64, count=len(bodies))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    prefix = np.zeros(int(ends[-1]) + 1, dtype=np.uint8)  # prefix[k] = XOR of the first k joined bytes
    if len(prefix) > 1:
        np.bitwise_xor.accumulate(np.frombuffer(b"".join(bodies), dtype=np.uint8), out=prefix[1:])
    return (prefix[ends] ^ prefix[starts]).tolist()  # type: ignore[no-any-return]


def prepare(lines: Sequence[bytes]) -> Prepared:
    """Pick and decode the bulk-decodable lines of a batch (see the module's docstring)."""
    fast: list[int] = []
    leading_t: list[float | None] = []
    tags: list[bytes | None] = []
    trailing: list[bytes] = []
    tag_bodies: list[bytes] = []
    tag_expected: list[int] = []
    bodies: list[bytes] = []
    expected: list[int] = []
    payloads: list[bytes] = []
    fills: list[int] = []
    match = _FAST.fullmatch
    first_characters = FIRST_CHARACTER
    for line in lines:
        text = line.strip()
        found = match(text) if text and text.isascii() else None
        if found is None:
            fast.append(-1)
            continue
        epoch, tag, tag_sum, body, payload, fill, body_sum, rest = found.groups()
        if payload[0] not in first_characters or (tag is not None and b"g:" in tag and _has_group(tag)):
            fast.append(-1)
            continue
        fast.append(len(payloads))
        leading_t.append(None if epoch is None else float(epoch))
        tags.append(tag)
        trailing.append(rest)
        tag_bodies.append(tag if tag is not None else b"")
        tag_expected.append(_HEX[tag_sum] if tag_sum is not None else 0)
        bodies.append(body)
        expected.append(_HEX[body_sum])
        payloads.append(payload)
        fills.append(fill[0] - 48)
    batch = decode_positions(payloads, fills)
    complete = batch.complete.tolist()
    for index, row in enumerate(fast):
        if row >= 0 and not complete[row]:
            fast[index] = -1  # short payload: pyais reads what it can of it
    tag_sums = _xor_checksums(tag_bodies)
    sums = _xor_checksums(bodies)
    return Prepared(
        lines=lines,
        fast=fast,
        leading_t=leading_t,
        tag=tags,
        trailing=trailing,
        tag_ok=[tag is None or got == want for tag, got, want in zip(tags, tag_sums, tag_expected, strict=True)],
        sentence_ok=[got == want for got, want in zip(sums, expected, strict=True)],
        msg_type=batch.msg_type.tolist(),
        mmsi=batch.mmsi.tolist(),
        second=batch.second.tolist(),
        values=reports(batch),
    )


def _has_group(tag: bytes) -> bool:
    return any(field.startswith(b"g:") for field in tag.split(b","))


def tag_fields(tag: bytes) -> dict[bytes, bytes]:
    """The tag block's fields by one-letter key (a repeated key: the last one wins, as in pyais)."""
    fields: dict[bytes, bytes] = {}
    for field in tag.split(b","):
        fields[field[:1]] = field[2:]
    return fields


__all__ = ["Prepared", "prepare", "tag_fields"]
