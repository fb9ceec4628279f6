"""Reader options are checked at construction, with exact messages."""

from __future__ import annotations

import pytest

from riskline.ingest.errors import IngestError, InvalidOptionError
from riskline.ingest.options import ReaderOptions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "csv"}, "unknown format 'csv'; expected one of: nmea, marinecadastre, modes_jsonl, modes_csv, "
         "beast, sbs, traffic_json, table_csv, table_parquet"),
        ({"start_time": float("nan")}, "start_time must be a finite POSIX time, not nan"),
        ({"reference": (95.0, 0.0)}, "reference must be (lat, lon) in degrees, not (95.0, 0.0)"),
        ({"group_timeout_s": 0.0}, "group_timeout_s must be positive, not 0.0"),
        ({"max_range_m": 400_000.0}, "max_range_m needs a reference and must be positive"),
        ({"batch_size": 0}, "batch_size must be at least 1, not 0"),
    ],
)
def test_a_wrong_option_is_refused_with_an_exact_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOptionError) as raised:
        ReaderOptions(**kwargs)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert isinstance(raised.value, IngestError)
    assert isinstance(raised.value, ValueError)


def test_the_defaults_read_without_a_clock_or_reference() -> None:
    options = ReaderOptions()
    assert (options.fmt, options.clock, options.reference, options.group_timeout_s) == (None, None, None, 10.0)
