"""Time at the boundary: riskline keeps POSIX seconds (UTC, float) inside and speaks ISO 8601 UTC outside."""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(t: float) -> str:
    """POSIX seconds to ISO 8601 UTC with a ``Z`` suffix, to the millisecond where it is not whole."""
    moment = datetime.fromtimestamp(t, tz=UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    """ISO 8601 (naive means UTC) or POSIX seconds (milliseconds when the number is above 1e11) to seconds.

    Raises ``ValueError`` with the offending text.
    """
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        pass
    else:
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"not a time: {text!r}")
        return number / 1000.0 if abs(number) > 1e11 else number
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
