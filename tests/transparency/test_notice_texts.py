"""NAVAREA warnings and NOTAMs in their real formats (REGIMES.md §7): read, written, read back; bad text named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.messages import MessageType, validate_body
from riskline.transparency.errors import NoticeTextError
from riskline.transparency.hazard import circle_ring, lead_time, notice_from_navarea, notice_from_notam
from riskline.transparency.navarea import NavWarning, Position, parse_navarea, write_navarea
from riskline.transparency.notam import parse_notam, write_notam
from riskline.transparency.regime import load_regime

GUNNERY = """NAVAREA I 123/21
BALTIC SEA.
GULF OF FINLAND.
CHART BA 2264.
GUNNERY EXERCISES FROM 110001 UTC TO 132359 UTC MAR 21
IN AREA BOUNDED BY
59-53.0N 026-15.0E, 59-53.0N 026-45.0E,
59-40,0N 026-45.0E, 59-40.0N 026-15.0E.
CANCEL THIS MSG 140100 UTC MAR 21.
"""

MISSILE_NAVTEX = """ZCZC HA12
BALTIC NAV WARNING 45/26
SOUTHERN BALTIC.
MISSILE FIRING 302200 UTC TO 010600 UTC APR 26
WITHIN 20 MILES OF 54-44.2N 014-02.9E.
CANCEL THIS MSG 010700 UTC APR 26.
NNNN
"""

ATLANTIC = """NAVAREA II 77/21
NORTH ATLANTIC.
NAVAL EXERCISES FROM 110001 UTC TO 132359 UTC MAR 21
IN AREA BOUNDED BY 29-53N 010-15W, 29-53N 009-40W, 29-20N 009-40W, 29-20N 010-15W.
"""

PARACHUTE = """A0789/21 NOTAMN
Q) LOVV/QWPLW/IV/BO/W/000/130/4809N01610E001
A) LOWW B) 2103110600 C) 2103131500 EST
D) DAILY 0600-1500
E) PARACHUTE JUMPING EXERCISE
WITHIN 1NM RADIUS OF 4809N01610E.
F) SFC G) FL130
"""

CANCEL = """A0801/21 NOTAMC A0789/21
Q) LOVV/QWPLW/IV/BO/W/000/130/4809N01610E001
A) LOWW B) 2103120900 C) PERM
E) PARACHUTE JUMPING EXERCISE CANCELLED
"""


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_a_navarea_polygon_warning_is_read_field_by_field() -> None:
    warning = parse_navarea(GUNNERY)
    assert warning == NavWarning(
        series="NAVAREA I",
        number=123,
        year=2021,
        general_area="BALTIC SEA",
        locality="GULF OF FINLAND",
        chart="BA 2264",
        subject="GUNNERY EXERCISES",
        start=utc(2021, 3, 11, 0, 1),
        end=utc(2021, 3, 13, 23, 59),
        polygon=(
            Position(59 + 53 / 60, 26.25),
            Position(59 + 53 / 60, 26.75),
            Position(59 + 40 / 60, 26.75),
            Position(59 + 40 / 60, 26.25),
        ),
        cancel_at=utc(2021, 3, 14, 1, 0),
    )


def test_a_navarea_warning_is_written_in_the_canonical_layout_and_read_back_equal() -> None:
    warning = parse_navarea(GUNNERY)
    assert write_navarea(warning) == GUNNERY.replace("59-40,0N", "59-40.0N")
    assert parse_navarea(write_navarea(warning)) == warning


def test_a_navtex_circle_that_crosses_a_month_end_is_read_and_written_back() -> None:
    warning = parse_navarea(MISSILE_NAVTEX)
    assert (warning.navtex, warning.identifier, warning.radius_m) == ("HA12", "BALTIC NAV WARNING 45/26", 37_040.0)
    assert (warning.start, warning.end) == (utc(2026, 3, 30, 22, 0), utc(2026, 4, 1, 6, 0))
    assert warning.centre == Position(54 + 44.2 / 60, 14 + 2.9 / 60)
    assert parse_navarea(write_navarea(warning)) == warning


def test_whole_minute_positions_west_of_greenwich_are_read() -> None:
    warning = parse_navarea(ATLANTIC)
    assert warning.polygon[0] == Position(29 + 53 / 60, -(10 + 15 / 60))
    assert parse_navarea(write_navarea(warning)) == warning


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GUNNERY.replace("59-53.0N 026-45.0E", "59-73.0N 026-45.0E"),
            "line 7, column 21: latitude 59-73.0N is not DD-MM.m with minutes < 60",
        ),
        (
            GUNNERY.replace("NAVAREA I 123/21", "NAVAREA I 123-21"),
            "line 1, column 1: expected the series and number, e.g. NAVAREA I 123/21",
        ),
        (
            GUNNERY.replace("TO 132359 UTC MAR 21", "TO 132359 UTC MRZ 21"),
            "line 5, column 49: unknown month 'MRZ' (JAN … DEC)",
        ),
        (
            GUNNERY.replace("FROM 110001 UTC TO 132359", "FROM 140001 UTC MAR 21 TO 132359"),
            "line 5, column 19: the window ends before it starts",
        ),
        (
            MISSILE_NAVTEX.replace("NNNN\n", ""),
            "line 6, column 1: a NAVTEX message that opens with ZCZC must close with NNNN",
        ),
        (
            "NAVAREA I 5/21\nBALTIC SEA.\nGUNNERY EXERCISES.\n",
            "line 3, column 19: no position: a warning needs a hazard and a position (DD-MM.mN DDD-MM.mE)",
        ),
    ],
)
def test_a_navarea_text_that_does_not_parse_names_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(NoticeTextError) as caught:
        parse_navarea(text)
    assert str(caught.value) == message


def test_the_notam_q_line_is_read_as_icao_doc_8126_defines_it() -> None:
    notam = parse_notam(PARACHUTE)
    q = notam.q
    assert (q.fir, q.code, q.traffic, q.purpose, q.scope, q.lower_fl, q.upper_fl) == (
        "LOVV",
        "QWPLW",
        "IV",
        "BO",
        "W",
        0,
        130,
    )
    assert (q.lat, q.lon, q.radius_nm, q.radius_m) == (48 + 9 / 60, 16 + 10 / 60, 1, 1852.0)
    assert (notam.start, notam.end, notam.end_estimated) == (utc(2021, 3, 11, 6), utc(2021, 3, 13, 15), True)
    assert notam.text == "PARACHUTE JUMPING EXERCISE WITHIN 1NM RADIUS OF 4809N01610E."
    assert (notam.lower, notam.upper, notam.lower_m, notam.upper_m) == ("SFC", "FL130", 0.0, 130 * 100 * 0.3048)


def test_notams_are_written_and_read_back_equal_a_cancellation_too() -> None:
    for text in (PARACHUTE, CANCEL):
        notam = parse_notam(text)
        assert parse_notam(write_notam(notam)) == notam
    cancel = parse_notam(CANCEL)
    assert (cancel.kind, cancel.reference, cancel.end) == ("C", "A0789/21", None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (PARACHUTE.replace("/IV/BO/", "/XX/BO/"), "line 2, column 15: Q) traffic 'XX' does not match IV|I|V|K"),
        (
            PARACHUTE.replace("4809N01610E001", "4869N01610E001"),
            "line 2, column 31: Q) centre has minutes ≥ 60 or is off the globe",
        ),
        (
            PARACHUTE.replace("B) 2103110600", "B) 2113110600"),
            "line 3, column 12: 2113110600 is not a time: month must be in 1..12",
        ),
        (PARACHUTE.replace("C) 2103131500 EST", "C) 2103101500"), "line 3, column 26: C) ends before B) starts"),
        (
            PARACHUTE.replace("A0789/21 NOTAMN", "A0789/21 NOTAMR"),
            "line 1, column 16: NOTAMR needs the reference it acts on",
        ),
        (PARACHUTE.replace("E) PARACHUTE JUMPING EXERCISE\n", ""), "line 6, column 16: missing item E)"),
        (
            PARACHUTE.replace("G) FL130", "G) FL13O"),
            "line 7, column 11: G) 'FL13O' is not SFC, GND, UNL, FLnnn or a height",
        ),
    ],
)
def test_a_notam_that_does_not_parse_names_the_line_and_column(text: str, message: str) -> None:
    with pytest.raises(NoticeTextError) as caught:
        parse_notam(text)
    assert str(caught.value) == message


def test_a_hazard_notice_made_from_a_navarea_warning_is_a_valid_message_with_its_text() -> None:
    body = notice_from_navarea(parse_navarea(GUNNERY), GUNNERY)
    created = utc(2021, 3, 7, 0, 1)
    normal = validate_body(MessageType.HAZARD_NOTICE, body, created=created)
    assert (normal["navwarn"], normal["nature"], normal["text"]) == ("NAVAREA I 123/21", "GUNNERY EXERCISES", GUNNERY)
    assert shapely.Polygon(normal["area"]["coordinates"][0]).exterior.is_ccw
    assert lead_time(created, normal["start"], load_regime()).verdict == "in_time"


def test_a_hazard_notice_made_from_a_notam_carries_its_vertical_limits() -> None:
    body = notice_from_notam(parse_notam(PARACHUTE), PARACHUTE)
    normal = validate_body(MessageType.HAZARD_NOTICE, body, created=utc(2021, 3, 6, 12))
    assert (normal["notam"], normal["lower_m"], normal["upper_m"]) == ("A0789/21", 0.0, 3962.4)
    assert lead_time(utc(2021, 3, 5), normal["start"], load_regime()).verdict == "early"
    assert lead_time(utc(2021, 3, 10, 12), normal["start"], load_regime()).verdict == "short"


@given(
    st.floats(-80, 80),
    st.floats(-179, 179),
    st.floats(100, 200_000),
)
def test_every_corner_of_a_circle_lies_at_its_radius(lat: float, lon: float, radius: float) -> None:
    from riskline.transparency.hazard import GEOD

    ring = circle_ring(lat, lon, radius)
    _, _, distances = GEOD.inv([lon] * len(ring), [lat] * len(ring), [p[0] for p in ring], [p[1] for p in ring])
    assert max(abs(d - radius) for d in distances) < 1e-6 * radius + 1e-6


@given(
    st.lists(st.tuples(st.integers(-899, 899), st.integers(-1799, 1799)), min_size=3, max_size=8, unique=True),
    st.integers(1, 999),
    st.integers(0, 5000),
)
def test_any_warning_written_reads_back_equal(corners: list[tuple[int, int]], number: int, hours: int) -> None:
    start = utc(2026, 1, 1) + hours * 3600.0
    warning = NavWarning(
        series="NAVAREA I",
        number=number,
        year=2026,
        general_area="BALTIC SEA",
        locality="",
        chart=None,
        subject="NAVAL EXERCISES",
        start=start,
        end=start + 86_400.0,
        polygon=tuple(Position(a / 10, b / 10) for a, b in corners),
    )
    assert parse_navarea(write_navarea(warning)) == warning
