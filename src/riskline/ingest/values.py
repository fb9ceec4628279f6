"""Cell and field values shared by the JSON and CSV readers, checked and converted at the boundary."""

from __future__ import annotations

import math

from riskline.timeutil import parse_time


def time_value(value: object) -> float | None:
    """[s] a JSON/CSV time: POSIX seconds (milliseconds above 1e11) or ISO 8601; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError("not a finite time") from None
        if not math.isfinite(number):
            raise ValueError("not a finite time")
        return number / 1000.0 if abs(number) > 1e11 else number
    if isinstance(value, str):
        return parse_time(value)
    raise ValueError("not a time")
