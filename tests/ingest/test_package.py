"""The package's public face: a sorted ``__all__`` that imports, and every format documented."""

from __future__ import annotations

from pathlib import Path

import riskline.ingest as ingest
from riskline.ingest.formats import FORMATS, INPUT_FORMATS
from riskline.ingest.sources import CHUNK_DECODERS, LINE_DECODERS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_sorted_constants_then_classes_then_functions() -> None:
    assert ingest.__all__ == sorted(ingest.__all__, key=_isort_key)


def test_every_name_in_all_is_importable() -> None:
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None


def test_every_format_has_a_decoder() -> None:
    assert set(LINE_DECODERS) | set(CHUNK_DECODERS) | {"table_parquet"} == set(FORMATS)


def test_every_format_is_documented_with_an_example() -> None:
    text = DOCS.read_text()
    for fmt in INPUT_FORMATS:
        heading = f"## `{fmt.name}`"
        assert heading in text, f"docs/formats.md lacks a section for {fmt.name}"
        section = text.split(heading, 1)[1].split("\n## ", 1)[0]
        assert "```" in section, f"the {fmt.name} section has no example"
