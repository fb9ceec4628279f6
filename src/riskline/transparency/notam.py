"""NOTAMs as text, read and written (ICAO Annex 15 / PANS-AIM; NOTAM codes in ICAO Doc 8126; REGIMES.md §7).

Items: the series/number and kind (``A1234/26 NOTAMN``; ``NOTAMR A1200/26`` replaces, ``NOTAMC A1200/26``
cancels), ``Q)`` line, ``A)`` location, ``B)`` start and ``C)`` end as ``YYMMDDhhmm`` (``C)`` may be ``EST`` or
``PERM``), ``D)`` schedule, ``E)`` text, ``F)`` lower and ``G)`` upper limit. The Q-line is
``FIR/QCODE/traffic/purpose/scope/lower/upper/centre-radius``, e.g. ``Q) LOVV/QWPLW/IV/BO/W/000/130/4809N01610E001``:
traffic I, V or IV; purpose letters from N, B, O, M, K; scope letters from A, E, W; limits as 3-digit flight
levels (``000`` the surface, ``999`` unlimited); centre ``DDMM[NS]DDDMM[EW]`` and radius in NM (3 digits).

``parse_notam`` returns a frozen ``Notam``; ``write_notam`` writes it back so that parsing gives it again. A text
that does not parse raises ``NoticeTextError`` with the line and column of the fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from riskline.transparency.errors import NoticeTextError

NM = 1852.0  # [m]
FT = 0.3048  # [m]
_HEADER = re.compile(r"^\(?\s*([A-Z]\d{4}/\d{2})\s+NOTAM([NRC])(?:\s+([A-Z]\d{4}/\d{2}))?\s*$")
_Q = re.compile(
    r"^([A-Z]{4})/(Q[A-Z]{4})/(IV|I|V|K)/([NBOMK]{1,3})/([AEWK]{1,2})/(\d{3})/(\d{3})/"
    r"(\d{2})(\d{2})([NS])(\d{3})(\d{2})([EW])(\d{3})$"
)
_ITEM = re.compile(r"(?:(?<=\s)|^)([QABCDEFG])\)\s*")
_TIME = re.compile(r"^\d{10}$")
_LIMIT = re.compile(r"^(SFC|GND|UNL|FL\s*\d{1,3}|\d{1,6}\s*(?:FT|M)\s*(?:AMSL|AGL|MSL)?)$")


@dataclass(frozen=True, slots=True)
class QLine:
    fir: str
    code: str
    """The NOTAM code, e.g. ``QWMLW`` missile, gun or rocket firing; ``QRDCA`` danger area activated."""
    traffic: str
    purpose: str
    scope: str
    lower_fl: int
    """Flight level (hundreds of feet); 0 the surface."""
    upper_fl: int
    """Flight level; 999 unlimited."""
    lat: float  # [deg]
    lon: float  # [deg]
    radius_nm: int

    @property
    def radius_m(self) -> float:  # [m]
        return self.radius_nm * NM


@dataclass(frozen=True, slots=True)
class Notam:
    identifier: str
    """Series, number and year, e.g. ``A1234/26``."""
    kind: str
    """``N`` new, ``R`` replaces ``reference``, ``C`` cancels ``reference``."""
    reference: str | None
    q: QLine
    location: str
    start: float  # [s] POSIX
    end: float | None  # [s] None for PERM
    end_estimated: bool
    schedule: str | None
    text: str
    lower: str | None
    """Item F) as written, e.g. ``SFC``; None when absent (the Q-line's limits stand)."""
    upper: str | None

    @property
    def lower_m(self) -> float:  # [m] above mean sea level (flight levels taken as altitudes)
        return self.q.lower_fl * 100 * FT

    @property
    def upper_m(self) -> float | None:  # [m]; None: unlimited
        return None if self.q.upper_fl == 999 else self.q.upper_fl * 100 * FT


def parse_notam(text: str) -> Notam:
    """One NOTAM (ICAO format) → ``Notam``, or ``NoticeTextError`` naming the line and column."""
    raw_lines = text.splitlines()
    lines = [(n, line) for n, line in enumerate(raw_lines, start=1) if line.strip()]
    if not lines:
        raise NoticeTextError(1, 1, "empty text: a NOTAM starts with its number and kind, e.g. A1234/26 NOTAMN")
    header_line, header = lines[0]
    match = _HEADER.match(header.strip())
    if match is None:
        column = len(header) - len(header.lstrip()) + 1
        raise NoticeTextError(header_line, column, "expected the number and kind, e.g. A1234/26 NOTAMN")
    identifier, kind, reference = match.group(1), match.group(2), match.group(3)
    if kind in "RC" and reference is None:
        raise NoticeTextError(header_line, len(header.rstrip()) + 1, f"NOTAM{kind} needs the reference it acts on")
    if kind == "N" and reference is not None:
        raise NoticeTextError(header_line, match.start(3) + 1, "NOTAMN takes no reference")
    items = _items(lines[1:])
    for needed in "QABCE":
        if needed not in items:
            last_line = lines[-1][0]
            raise NoticeTextError(last_line, len(lines[-1][1]) + 1, f"missing item {needed})")
    q = _q_line(*items["Q"])
    start = _time(*items["B"])
    c_value, c_line, c_column = items["C"]
    estimated = c_value.endswith("EST")
    end: float | None
    if c_value == "PERM":
        end = None
    else:
        end = _time(c_value.removesuffix("EST").strip(), c_line, c_column)
        if end <= start:
            raise NoticeTextError(c_line, c_column, "C) ends before B) starts")
    lower = items["F"][0] if "F" in items else None
    upper = items["G"][0] if "G" in items else None
    for key, value in (("F", lower), ("G", upper)):
        if value is not None and not _LIMIT.match(value):
            raise NoticeTextError(
                items[key][1], items[key][2], f"{key}) {value!r} is not SFC, GND, UNL, FLnnn or a height"
            )
    return Notam(
        identifier=identifier,
        kind=kind,
        reference=reference,
        q=q,
        location=items["A"][0],
        start=start,
        end=end,
        end_estimated=estimated,
        schedule=items["D"][0] if "D" in items else None,
        text=items["E"][0],
        lower=lower,
        upper=upper,
    )


def write_notam(notam: Notam) -> str:
    """The NOTAM in the ICAO layout; ``parse_notam`` reads it back equal."""
    q = notam.q
    header = f"{notam.identifier} NOTAM{notam.kind}" + (f" {notam.reference}" if notam.reference else "")
    centre = _centre(q.lat, q.lon)
    lines = [
        header,
        f"Q) {q.fir}/{q.code}/{q.traffic}/{q.purpose}/{q.scope}/"
        f"{q.lower_fl:03d}/{q.upper_fl:03d}/{centre}{q.radius_nm:03d}",
        f"A) {notam.location} B) {_format_time(notam.start)} C) "
        + ("PERM" if notam.end is None else _format_time(notam.end) + (" EST" if notam.end_estimated else "")),
    ]
    if notam.schedule:
        lines.append(f"D) {notam.schedule}")
    lines.append(f"E) {notam.text}")
    limits = [f"F) {notam.lower}" if notam.lower else "", f"G) {notam.upper}" if notam.upper else ""]
    if any(limits):
        lines.append(" ".join(part for part in limits if part))
    return "\n".join(lines) + "\n"


def _items(lines: list[tuple[int, str]]) -> dict[str, tuple[str, int, int]]:
    """Item letter → (value, line, column of the value); values may run over several lines."""
    items: dict[str, tuple[str, int, int]] = {}
    current: str | None = None
    for number, line in lines:
        matches = list(_ITEM.finditer(line))
        if not matches:
            if current is None:
                raise NoticeTextError(number, 1, "text before the first item; items start with Q), A), B) …")
            value, at_line, at_column = items[current]
            items[current] = (f"{value} {line.strip()}".strip(), at_line, at_column)
            continue
        if matches[0].start() > 0 and line[: matches[0].start()].strip():
            if current is None:
                raise NoticeTextError(number, 1, "text before the first item; items start with Q), A), B) …")
            value, at_line, at_column = items[current]
            items[current] = (f"{value} {line[: matches[0].start()].strip()}", at_line, at_column)
        for k, match in enumerate(matches):
            letter = match.group(1)
            if letter in items:
                raise NoticeTextError(number, match.start() + 1, f"item {letter}) appears twice")
            end = matches[k + 1].start() if k + 1 < len(matches) else len(line)
            items[letter] = (line[match.end() : end].strip(), number, match.end() + 1)
            current = letter
    return items


def _q_line(value: str, line: int, column: int) -> QLine:
    compact = value.replace(" ", "")
    match = _Q.match(compact)
    if match is None:
        fields = compact.split("/")
        names = ("FIR", "NOTAM code", "traffic", "purpose", "scope", "lower limit", "upper limit", "centre and radius")
        patterns = (
            r"[A-Z]{4}",
            r"Q[A-Z]{4}",
            r"IV|I|V|K",
            r"[NBOMK]{1,3}",
            r"[AEWK]{1,2}",
            r"\d{3}",
            r"\d{3}",
            r"\d{4}[NS]\d{5}[EW]\d{3}",
        )
        offset = 0
        for index, name in enumerate(names):
            field = fields[index] if index < len(fields) else ""
            if not re.fullmatch(patterns[index], field):
                raise NoticeTextError(line, column + offset, f"Q) {name} {field!r} does not match {patterns[index]}")
            offset += len(field) + 1
        raise NoticeTextError(line, column, f"Q) {value!r} has {len(fields)} fields, expected 8")
    fir, code, traffic, purpose, scope, lower, upper, lat_d, lat_m, ns, lon_d, lon_m, ew, radius = match.groups()
    if int(lat_m) >= 60 or int(lon_m) >= 60 or int(lat_d) > 90 or int(lon_d) > 180:
        raise NoticeTextError(line, column + compact.rfind("/") + 1, "Q) centre has minutes ≥ 60 or is off the globe")
    if int(upper) < int(lower):
        raise NoticeTextError(
            line, column + len("/".join(compact.split("/")[:6])) + 1, "Q) upper limit below the lower"
        )
    lat = (int(lat_d) + int(lat_m) / 60.0) * (1 if ns == "N" else -1)
    lon = (int(lon_d) + int(lon_m) / 60.0) * (1 if ew == "E" else -1)
    return QLine(fir, code, traffic, purpose, scope, int(lower), int(upper), lat, lon, int(radius))


def _time(value: str, line: int, column: int) -> float:
    if not _TIME.match(value):
        raise NoticeTextError(line, column, f"{value!r} is not a time YYMMDDhhmm")
    try:
        moment = datetime(
            2000 + int(value[:2]), int(value[2:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), tzinfo=UTC
        )
    except ValueError as error:
        raise NoticeTextError(line, column, f"{value} is not a time: {error}") from None
    return moment.timestamp()


def _format_time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%y%m%d%H%M")


def _centre(lat: float, lon: float) -> str:
    def dm(value: float, width: int, hemispheres: str) -> str:
        minutes = round(abs(value) * 60)
        return f"{minutes // 60:0{width}d}{minutes % 60:02d}{hemispheres[0] if value >= 0 else hemispheres[1]}"

    return dm(lat, 2, "NS") + dm(lon, 3, "EW")
