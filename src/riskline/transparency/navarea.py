"""NAVAREA and coastal navigational warnings as text, read and written (IMO MSC.1/Circ.1310, IHO S-53; REGIMES §7).

The elements, in order: series identifier and number (``NAVAREA I 123/21``), general area, locality, chart
number, key subject, position, amplifying remarks with the time window, and the cancellation line. Positions
are degrees-minutes with hemisphere (``54-44.2N 014-02.9E``; a decimal comma ``54-44,2N`` is read too). An area
is a polygon of corner positions (``IN AREA BOUNDED BY …``) or a circle (``WITHIN 20 MILES OF …``, nautical
miles). Times are ``DDHHMM UTC`` with month and year: ``FROM 110001 UTC TO 132359 UTC MAR 21``; ``CANCEL THIS MSG
140100 UTC MAR 21.`` says when the warning expires, ``CANCEL NAVAREA I 120/21.`` withdraws an earlier one.
A NAVTEX broadcast wraps the text as ``ZCZC B1B2B3B4`` … ``NNNN``.

``parse_navarea`` returns a frozen ``NavWarning``; ``write_navarea`` writes one in the canonical layout, and
parsing what it writes gives the same warning back. A text that does not parse raises ``NoticeTextError`` with
the line and column.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from riskline.transparency.errors import NoticeTextError

NM = 1852.0  # [m]
MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTH_NAMES = {number: name for name, number in MONTHS.items()}
_POSITION = re.compile(r"(\d{2})-(\d{2}(?:[.,]\d+)?)([NS])\s+(\d{3})-(\d{2}(?:[.,]\d+)?)([EW])")
_SERIES = re.compile(r"^(NAVAREA\s+[IVX]+|[A-Z][A-Z ]*?(?:NAV\s*WARNING|COASTAL WARNING|WARNING))\s+(\d{1,4})/(\d{2})$")
_WINDOW = re.compile(
    r"(?:FROM\s+)?(\d{6})\s+UTC(?:\s+([A-Z]{3})(?:\s+(\d{2}))?)?\s+TO\s+(\d{6})\s+UTC\s+([A-Z]{3})\s+(\d{2})"
)
_CANCEL_AT = re.compile(r"CANCEL THIS MSG\s+(\d{6})\s+UTC\s+([A-Z]{3})\s+(\d{2})\.?")
_CANCEL_REF = re.compile(r"CANCEL\s+((?:NAVAREA\s+[IVX]+|[A-Z][A-Z ]*?WARNING)\s+\d{1,4}/\d{2})\.?")
_CIRCLE = re.compile(r"WITHIN\s+(\d+(?:\.\d+)?)\s+(?:NAUTICAL\s+)?MILES\s+OF")
_NAVTEX = re.compile(r"^ZCZC\s+([A-Z])([A-Z])(\d{2})$")


@dataclass(frozen=True, slots=True)
class Position:
    lat: float  # [deg]
    lon: float  # [deg]


@dataclass(frozen=True, slots=True)
class NavWarning:
    series: str
    """``NAVAREA I``, ``BALTIC NAV WARNING``, … ."""
    number: int
    year: int
    """Four digits."""
    general_area: str
    locality: str
    chart: str | None
    subject: str
    """The key subject: ``GUNNERY EXERCISES``, ``MISSILE FIRING``, ``NAVAL EXERCISES``."""
    start: float | None  # [s] POSIX; None when the warning gives no window
    end: float | None  # [s]
    polygon: tuple[Position, ...] = ()
    """Corners of the area, not closed; empty for a circle."""
    centre: Position | None = None
    radius_m: float | None = None  # [m]
    cancel_at: float | None = None  # [s] ``CANCEL THIS MSG``
    cancels: str | None = None
    """The earlier warning this one withdraws, e.g. ``NAVAREA I 120/21``."""
    navtex: str | None = None
    """The NAVTEX header B1B2B3B4, e.g. ``HA12``, when the text came wrapped."""

    @property
    def identifier(self) -> str:
        return f"{self.series} {self.number}/{self.year % 100:02d}"


def parse_navarea(text: str) -> NavWarning:
    """One NAVAREA or coastal warning (optionally NAVTEX-wrapped) → ``NavWarning``; ``NoticeTextError`` if not."""
    lines = [(number, line.rstrip()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(n, line) for n, line in lines if line.strip()]
    if not lines:
        raise NoticeTextError(1, 1, "empty text: a warning starts with its series and number, e.g. NAVAREA I 123/21")
    navtex = None
    match = _NAVTEX.match(lines[0][1].strip())
    if match:
        navtex = "".join(match.groups())
        lines = lines[1:]
        if not lines or lines[-1][1].strip() != "NNNN":
            last = lines[-1][0] if lines else 1
            raise NoticeTextError(last, 1, "a NAVTEX message that opens with ZCZC must close with NNNN")
        lines = lines[:-1]
    elif lines[0][1].strip().startswith("ZCZC"):
        raise NoticeTextError(lines[0][0], 1, "a NAVTEX header is ZCZC B1B2B3B4, e.g. ZCZC HA12")
    first_line, header = lines[0]
    series_match = _SERIES.match(" ".join(header.split()))
    if series_match is None:
        raise NoticeTextError(first_line, 1, "expected the series and number, e.g. NAVAREA I 123/21")
    series = " ".join(series_match.group(1).split())
    number, year = int(series_match.group(2)), 2000 + int(series_match.group(3))
    body = lines[1:]
    if len(body) < 2:
        raise NoticeTextError(first_line, len(header) + 1, "a warning needs a general area and a key subject")
    general_area = body[0][1].strip().rstrip(".")
    locality = ""
    chart = None
    rest = body[1:]
    if rest and not _has_subject_or_area(rest[0][1]) and not rest[0][1].strip().upper().startswith("CHART"):
        locality = rest[0][1].strip().rstrip(".")
        rest = rest[1:]
    if rest and rest[0][1].strip().upper().startswith("CHART"):
        chart = rest[0][1].strip().rstrip(".")[len("CHART") :].strip()
        rest = rest[1:]
    if not rest:
        raise NoticeTextError(body[-1][0], 1, "missing the key subject and position")
    joined, offsets = _join(rest)
    subject_end = _first_of(joined, (_WINDOW, _CIRCLE, re.compile(r"IN AREA|BOUNDED BY|AREA BOUNDED"), _POSITION))
    subject = joined[:subject_end].strip().rstrip(".").strip()
    if not subject:
        line, column = _where(offsets, subject_end)
        raise NoticeTextError(line, column, "missing the key subject, e.g. GUNNERY EXERCISES")
    start = end = None
    window = _WINDOW.search(joined)
    if window:
        start, end = _window(window, offsets, year)
    cancel_at = None
    cancel = _CANCEL_AT.search(joined)
    if cancel:
        cancel_at = _dtg(cancel.group(1), cancel.group(2), cancel.group(3), offsets, cancel.start(1), cancel.start(2))
    cancels_match = _CANCEL_REF.search(joined)
    cancels = " ".join(cancels_match.group(1).split()) if cancels_match else None
    area_text_end = cancel.start() if cancel else len(joined)
    positions = _positions(joined, offsets, 0, area_text_end)
    circle = _CIRCLE.search(joined)
    centre = radius = None
    polygon: tuple[Position, ...] = ()
    if circle:
        after = [p for p in positions if p[0] > circle.end()]
        if not after:
            line, column = _where(offsets, circle.end())
            raise NoticeTextError(line, column, "WITHIN … MILES OF needs a position after it")
        centre, radius = after[0][1], float(circle.group(1)) * NM
    elif positions:
        polygon = tuple(p for _, p in positions)
        if len(polygon) > 1 and polygon[0] == polygon[-1]:
            polygon = polygon[:-1]
        if len(polygon) < 3 and cancels is None:
            line, column = _where(offsets, positions[0][0])
            raise NoticeTextError(line, column, f"an area needs at least 3 corner positions, got {len(polygon)}")
    elif cancels is None:
        line, column = _where(offsets, len(joined))
        raise NoticeTextError(line, column, "no position: a warning needs a hazard and a position (DD-MM.mN DDD-MM.mE)")
    if start is not None and end is not None and end <= start:
        line, column = _where(offsets, window.start() if window else 0)
        raise NoticeTextError(line, column, "the window ends before it starts")
    return NavWarning(
        series=series,
        number=number,
        year=year,
        general_area=general_area,
        locality=locality,
        chart=chart,
        subject=subject,
        start=start,
        end=end,
        polygon=polygon,
        centre=centre,
        radius_m=radius,
        cancel_at=cancel_at,
        cancels=cancels,
        navtex=navtex,
    )


def write_navarea(warning: NavWarning) -> str:
    """The warning in the canonical layout; ``parse_navarea`` reads it back equal."""
    lines = [warning.identifier, f"{warning.general_area}."]
    if warning.locality:
        lines.append(f"{warning.locality}.")
    if warning.chart:
        lines.append(f"CHART {warning.chart}.")
    subject = warning.subject
    if warning.start is not None and warning.end is not None:
        same_month = _format_dtg(warning.start, month=True)[-6:] == _format_dtg(warning.end, month=True)[-6:]
        first = _format_dtg(warning.start, month=not same_month)
        subject += f" FROM {first} TO {_format_dtg(warning.end, month=True)}"
    lines.append(subject)
    if warning.centre is not None and warning.radius_m is not None:
        lines.append(f"WITHIN {_number(warning.radius_m / NM)} MILES OF {format_position(warning.centre)}.")
    elif warning.polygon:
        lines.append("IN AREA BOUNDED BY")
        corners = [format_position(p) for p in warning.polygon]
        for k in range(0, len(corners), 2):
            chunk = ", ".join(corners[k : k + 2])
            lines.append(chunk + ("," if k + 2 < len(corners) else "."))
    if warning.cancels:
        lines.append(f"CANCEL {warning.cancels}.")
    if warning.cancel_at is not None:
        lines.append(f"CANCEL THIS MSG {_format_dtg(warning.cancel_at, month=True)}.")
    text = "\n".join(lines)
    if warning.navtex:
        text = f"ZCZC {warning.navtex}\n{text}\nNNNN"
    return text + "\n"


def format_position(position: Position) -> str:
    """``54-44.2N 014-02.9E``: minutes to a tenth, as warnings print them (exact for positions read from them)."""
    return f"{_dm(position.lat, 2, 'NS')} {_dm(position.lon, 3, 'EW')}"


def _dm(value: float, width: int, hemispheres: str) -> str:
    hemisphere = hemispheres[0] if value >= 0 else hemispheres[1]
    tenths = round(abs(value) * 600)
    degrees, tenth_minutes = divmod(tenths, 600)
    return f"{degrees:0{width}d}-{tenth_minutes // 10:02d}.{tenth_minutes % 10}{hemisphere}"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _format_dtg(t: float, *, month: bool) -> str:
    moment = datetime.fromtimestamp(t, tz=UTC)
    text = f"{moment.day:02d}{moment.hour:02d}{moment.minute:02d} UTC"
    return f"{text} {MONTH_NAMES[moment.month]} {moment.year % 100:02d}" if month else text


def _has_subject_or_area(line: str) -> bool:
    upper = line.upper()
    return bool(_POSITION.search(upper) or _WINDOW.search(upper) or "EXERCISE" in upper or "FIRING" in upper)


def _join(lines: list[tuple[int, str]]) -> tuple[str, list[tuple[int, int, int]]]:
    """The lines joined by spaces, and (offset in the joined text, line, column of the line's first char)."""
    parts: list[str] = []
    offsets = []
    at = 0
    for number, line in lines:
        stripped = line.lstrip()
        offsets.append((at, number, len(line) - len(stripped) + 1))
        parts.append(stripped.upper())
        at += len(stripped) + 1
    return " ".join(parts), offsets


def _where(offsets: list[tuple[int, int, int]], position: int) -> tuple[int, int]:
    line, column = offsets[0][1], offsets[0][2]
    for start, number, first in offsets:
        if start <= position:
            line, column = number, first + position - start
    return line, column


def _first_of(text: str, patterns: tuple[re.Pattern[str], ...]) -> int:
    found = [m.start() for p in patterns if (m := p.search(text))]
    return min(found) if found else len(text)


def _positions(text: str, offsets: list[tuple[int, int, int]], start: int, end: int) -> list[tuple[int, Position]]:
    found = []
    for match in _POSITION.finditer(text, start, end):
        lat_deg, lat_min, ns, lon_deg, lon_min, ew = match.groups()
        lat_minutes, lon_minutes = float(lat_min.replace(",", ".")), float(lon_min.replace(",", "."))
        if lat_minutes >= 60 or int(lat_deg) > 90:
            line, column = _where(offsets, match.start(1))
            raise NoticeTextError(
                line, column, f"latitude {match.group(0).split()[0]} is not DD-MM.m with minutes < 60"
            )
        if lon_minutes >= 60 or int(lon_deg) > 180:
            line, column = _where(offsets, match.start(4))
            raise NoticeTextError(
                line, column, f"longitude {match.group(0).split()[1]} is not DDD-MM.m with minutes < 60"
            )
        lat = (int(lat_deg) + lat_minutes / 60.0) * (1 if ns == "N" else -1)
        lon = (int(lon_deg) + lon_minutes / 60.0) * (1 if ew == "E" else -1)
        if abs(lat) > 90 or abs(lon) > 180:
            line, column = _where(offsets, match.start(1))
            raise NoticeTextError(line, column, f"position {match.group(0)} is outside the globe")
        found.append((match.start(), Position(lat, lon)))
    for stray in re.finditer(r"\d{2,3}-\d{2}[.,]?\d*[NSEW]", text[start:end]):
        if not any(abs(stray.start() + start - p) < 20 for p, _ in found):
            line, column = _where(offsets, stray.start() + start)
            raise NoticeTextError(line, column, f"malformed position {stray.group(0)!r}: expected DD-MM.mN DDD-MM.mE")
    return found


def _window(match: re.Match[str], offsets: list[tuple[int, int, int]], year: int) -> tuple[float, float]:
    start_dtg, start_month, start_year, end_dtg, end_month, end_year = match.groups()
    end = _dtg(end_dtg, end_month, end_year, offsets, match.start(4), match.start(5))
    month = start_month or end_month
    start_y = start_year or end_year
    start = _dtg(start_dtg, month, start_y, offsets, match.start(1), match.start(2) if start_month else match.start(5))
    if start > end and start_month is None:  # "FROM 302200 UTC TO 010600 UTC APR 21": the start is in March
        moment = datetime.fromtimestamp(end, tz=UTC)
        previous = (moment.month - 2) % 12 + 1
        prev_year = moment.year - (1 if moment.month == 1 else 0)
        start = _dtg(
            start_dtg, MONTH_NAMES[previous], f"{prev_year % 100:02d}", offsets, match.start(1), match.start(1)
        )
    return start, end


def _dtg(
    dtg: str, month: str, year: str, offsets: list[tuple[int, int, int]], position: int, month_position: int
) -> float:
    line, column = _where(offsets, position)
    if month not in MONTHS:
        month_line, month_column = _where(offsets, month_position)
        raise NoticeTextError(month_line, month_column, f"unknown month {month!r} (JAN … DEC)")
    day, hour, minute = int(dtg[:2]), int(dtg[2:4]), int(dtg[4:6])
    try:
        moment = datetime(2000 + int(year), MONTHS[month], day, hour, minute, tzinfo=UTC)
    except ValueError as error:
        raise NoticeTextError(line, column, f"{dtg} UTC {month} {year} is not a time: {error}") from None
    return moment.timestamp()
