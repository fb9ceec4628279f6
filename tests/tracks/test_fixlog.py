"""Every platform's fixes in shared columns: the same fixes held and the same kinematics as ``FixHistory``."""

from __future__ import annotations

import itertools
import math
from dataclasses import astuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.tracks.fixlog import FixLog, horizontal_velocity
from riskline.tracks.history import FixHistory, Kinematics

NAN = math.nan
MIN_DT = 1.0
Fix = tuple[float, float, float, float, float, float, float]


class _Oracle:
    """The rules the track table applied with one ``FixHistory`` per platform."""

    def __init__(self, history_s: float) -> None:
        self.history_s = history_s
        self.of: dict[int, FixHistory] = {}

    def take(self, slot: int, fix: Fix) -> str:
        history = self.of.get(slot)
        if history is None:
            self.of[slot] = history = FixHistory(capacity=2)
            history.append(*fix)
            return "append"
        newest = float(history.times[-1])
        t = fix[0]
        if t == newest:
            return "duplicate"
        if t > newest:
            history.append(*fix)
            history.trim_before(t - self.history_s)
            return "append"
        if t < newest - self.history_s:
            return "too old"
        return "insert" if history.insert(*fix) else "duplicate"


def _same(a: Kinematics, b: Kinematics) -> bool:
    """Equal to the bit, NaN equal to NaN."""
    return bool(np.array_equal(np.array(astuple(a)), np.array(astuple(b)), equal_nan=True))


def _number(finite: st.SearchStrategy[float]) -> st.SearchStrategy[float]:
    return st.one_of(st.just(NAN), finite)


_FIX = st.tuples(
    st.integers(0, 4),  # slot
    st.integers(0, 120).map(lambda k: k * 0.25),  # [s] times 0.25 s apart: many within MIN_DT
    st.floats(54.0, 60.0),
    st.floats(10.0, 30.0),
    _number(st.floats(0.0, 12000.0)),
    _number(st.floats(-300.0, 300.0)),
    _number(st.floats(-300.0, 300.0)),
    _number(st.floats(-60.0, 60.0)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_FIX, min_size=1, max_size=80), st.sampled_from([2.0, 7.5, 1e6]), st.integers(1, 12),
       st.lists(st.integers(0, 4), max_size=3))
def test_the_log_holds_what_each_platforms_history_holds_and_gives_the_same_kinematics(
        fixes: list[tuple[int, float, float, float, float, float, float, float]], history_s: float, batch: int,
        cleared: list[int]) -> None:
    log, oracle = FixLog(history_s, slots=2, capacity=2), _Oracle(history_s)
    log.grow_slots(5)
    for start in range(0, len(fixes), batch):
        part = fixes[start:start + batch]
        # the batch's orderly slots go in bulk, as the track table does; the others row by row
        by_slot: dict[int, list[Fix]] = {}
        for slot, *fix in part:
            by_slot.setdefault(slot, []).append(tuple(fix))  # type: ignore[arg-type]
        bulk = {slot: rows for slot, rows in by_slot.items()
                if all(b[0] > a[0] for a, b in itertools.pairwise(rows))
                and (slot not in oracle.of or rows[0][0] > oracle.of[slot].times[-1])}
        for slot, rows in by_slot.items():
            for fix in rows:
                what = oracle.take(slot, fix)
                if slot in bulk:
                    continue
                if what == "append":
                    log.append(slot, *fix)
                elif what == "insert":
                    assert log.insert(slot, *fix)
                elif what == "duplicate" and fix[0] != float(log.t[log.head[slot]]):
                    assert not log.insert(slot, *fix)
        if bulk:
            slots = sorted(bulk)
            rows = np.array([fix for slot in slots for fix in bulk[slot]])
            starts = np.cumsum([0] + [len(bulk[slot]) for slot in slots[:-1]])
            log.extend(np.array(slots), starts, *rows.T)
        held = sorted(oracle.of)
        for slot in held:
            expected = oracle.of[slot]
            rows_held = log.rows_of(slot)
            assert log.t[rows_held].tolist() == expected.times.tolist()
            assert _same(log.kinematics(slot, MIN_DT), expected.kinematics(MIN_DT))
            for t0, t1 in ((-1.0, 100.0), (3.0, 17.5), (20.0, 20.0)):
                got = np.column_stack([log.t[rows_held], log.lat[rows_held], log.lon[rows_held],
                                       log.alt[rows_held]])
                inside = (got[:, 0] >= t0) & (got[:, 0] <= t1)
                assert np.array_equal(got[inside][:, :3], expected.between(t0, t1)[:, :3])
        if held:
            many = log.kinematics_of(np.array(held), MIN_DT)
            for k, slot in enumerate(held):
                got = Kinematics(many.t[k], many.lat[k], many.lon[k], many.alt[k], many.v_east[k],
                                 many.v_north[k], many.v_up[k])
                assert _same(got, oracle.of[slot].kinematics(MIN_DT))
        for slot in cleared:
            if slot in oracle.of and start // batch % 3 == 2:
                log.clear(slot)
                del oracle.of[slot]


def test_a_full_log_drops_the_forgotten_and_expired_fixes_and_keeps_the_links() -> None:
    log = FixLog(10.0, slots=2, capacity=4)
    for t in range(200):
        log.append(0, float(t), 59.0, 24.0, NAN, NAN, NAN, NAN)
        log.append(1, float(t), 58.0, 23.0, 100.0 + t, NAN, NAN, NAN)
        if t == 100:
            log.clear(1)
    assert log.t[log.rows_of(0)].tolist() == [float(t) for t in range(189, 200)]
    assert log.t[log.rows_of(1)].tolist() == [float(t) for t in range(189, 200)]
    assert len(log) <= 64  # the columns did not grow with the 400 fixes


def test_a_late_fix_needs_a_newer_one_held() -> None:
    log = FixLog(10.0)
    log.append(0, 5.0, 59.0, 24.0, NAN, NAN, NAN, NAN)
    with pytest.raises(ValueError, match="not older"):
        log.insert(0, 6.0, 59.0, 24.0, NAN, NAN, NAN, NAN)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_number(st.floats(0.0, 300.0)), _number(st.floats(-720.0, 720.0))), max_size=20))
def test_speed_and_course_give_the_velocity_the_row_path_gives(pairs: list[tuple[float, float]]) -> None:
    sog = np.array([p[0] for p in pairs], dtype=np.float64)
    cog = np.array([p[1] for p in pairs], dtype=np.float64)
    east, north = horizontal_velocity(sog, cog)
    for k, (speed, course) in enumerate(pairs):
        if not (math.isnan(speed) or math.isnan(course)):
            expected = (speed * math.sin(math.radians(course)), speed * math.cos(math.radians(course)))
        elif speed == 0.0:
            expected = (0.0, 0.0)
        else:
            expected = (NAN, NAN)
        assert np.array_equal(np.array([east[k], north[k]]), np.array(expected), equal_nan=True)
