"""Byte streams to lines, and CSV lines to fields: the plumbing shared by the text readers."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator


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
