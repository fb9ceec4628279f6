"""Byte streams to lines, and CSV lines to fields: the plumbing shared by the text readers."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Lines (each with its ``\\n`` when it had one) from arbitrary byte chunks; the last may lack it."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        data = rest + chunk if rest else chunk
        lines = data.split(b"\n")
        rest = lines.pop()
        for line in lines:
            yield line + b"\n"
    if rest:
        yield rest


def line_batches(
    chunks: Iterable[bytes], max_line_bytes: int, overlong: Callable[[int], None]
) -> Iterator[list[bytes]]:
    """Lines in batches (one batch per chunk that ends at least one line), each line with its ``\\n`` when it had
    one; memory stays bounded by the chunk size plus ``max_line_bytes`` whatever the input holds.

    A line longer than ``max_line_bytes`` (its ``\\n`` not counted) is never held whole: its bytes are skipped as
    they arrive and ``overlong(size)`` is called once with its full size in bytes, after which reading goes on.
    """
    for block in line_blocks(chunks, max_line_bytes, overlong):
        yield block_lines(block)


def line_blocks(chunks: Iterable[bytes], max_line_bytes: int, overlong: Callable[[int], None]) -> Iterator[bytes]:
    """``line_batches`` without splitting: each batch's lines as one block of bytes, as they came (every line but
    the input's last ends with ``\\n``); ``block_lines`` splits a block into that batch. Overlong lines are left
    out of the blocks and counted by ``overlong`` exactly as ``line_batches`` does."""
    rest = b""  # the start of a line not ended yet (at most max_line_bytes long)
    skipped = 0  # [bytes] of an overlong line dropped so far; 0 when not inside one
    for chunk in chunks:
        if not chunk:
            continue
        first_end = chunk.find(b"\n")
        if first_end >= 0 and skipped:
            overlong(skipped + first_end + 1)
            skipped = 0
            chunk = chunk[first_end + 1 :]
            rest = b""
            first_end = chunk.find(b"\n")
        if first_end < 0:
            if skipped:
                skipped += len(chunk)
            elif len(rest) + len(chunk) > max_line_bytes:
                skipped, rest = len(rest) + len(chunk), b""
            else:
                rest += chunk
            continue
        last_end = chunk.rfind(b"\n")
        block = rest + chunk[: last_end + 1] if rest or last_end + 1 < len(chunk) else chunk
        tail = chunk[last_end + 1 :]
        if len(tail) > max_line_bytes:
            skipped, rest = len(tail), b""
        else:
            rest = tail
        if len(block) > max_line_bytes + 1 and _has_overlong(block, max_line_bytes):
            kept = []
            for line in block_lines(block):
                if len(line) > max_line_bytes + 1:
                    overlong(len(line))
                else:
                    kept.append(line)
            block = b"".join(kept)
        if block:
            yield block
    if skipped:
        overlong(skipped)
    elif rest:
        yield rest


def _has_overlong(block: bytes, max_line_bytes: int) -> bool:
    """Whether a block of lines (ending with ``\\n``) has one longer than ``max_line_bytes`` without its ``\\n``:
    a window of ``max_line_bytes + 1`` bytes from a line's start without a ``\\n``, windows taken line after line
    from the last ``\\n`` of the one before (a few steps per block)."""
    start = 0
    while start + max_line_bytes + 1 < len(block):
        last = block.rfind(b"\n", start, start + max_line_bytes + 1)
        if last < 0:
            return True
        start = last + 1
    return False


def block_lines(block: bytes) -> list[bytes]:
    """The lines of a block of ``line_blocks``, each with its ``\\n`` when it had one."""
    lines = block.split(b"\n")
    last = lines.pop()
    out = [line + b"\n" for line in lines]
    if last:
        out.append(last)
    return out


def csv_fields(text: str) -> list[str]:
    """Fields of one CSV line (RFC 4180 quoting handled; the fast path splits on commas).

    Raises ``ValueError`` for a line the csv module cannot parse.
    """
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader((text,)), [])
    except csv.Error as error:
        raise ValueError(str(error)) from None


def header_index(fields: list[str]) -> dict[str, int]:
    """Column name (stripped, lower case) to position; the first of duplicate names wins."""
    index: dict[str, int] = {}
    for position, name in enumerate(fields):
        index.setdefault(name.strip().strip("\ufeff").lower(), position)
    return index
