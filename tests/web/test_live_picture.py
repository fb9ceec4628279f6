"""The live picture and the event stream: frames from the watch's snapshot, history, resume after a reconnect."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.tracks.snapshot import Snapshot
from riskline.web.live import AIR, MILITARY, TRANSPONDER_OFF, EventStream, Frame, LivePicture, frame_from_snapshot

T = 1_700_000_000.0


def snapshot(t: float = T) -> Snapshot:
    return Snapshot(
        t=t,
        ids=("id:p8", "id:su27", "mmsi:230000001"),
        party=np.array([0, 1, 2]),
        party_names=("EE", "RU", "civil"),
        is_air=np.array([True, True, False]),
        is_military=np.array([True, True, False]),
        transponder=np.array([True, False, True]),
        lat=np.array([56.5000012, 56.51, 59.4]),
        lon=np.array([20.0, 20.01, 24.7]),
        alt=np.array([8000.0, np.nan, 0.0]),
        v_east=np.array([100.0, 0.0, -5.0]),
        v_north=np.array([0.0, -200.0, 0.0]),
        v_up=np.zeros(3),
        t_fix=np.full(3, t),
    )


def test_a_frame_carries_each_platform_with_its_party_kind_and_motion() -> None:
    frame = frame_from_snapshot(snapshot())
    assert frame.ids == ("id:p8", "id:su27", "mmsi:230000001")
    assert [frame.parties[i] for i in frame.party] == ["EE", "RU", "civil"]
    assert frame.flags == (AIR | MILITARY, AIR | MILITARY | TRANSPONDER_OFF, 0)
    assert frame.lat == (56.5, 56.51, 59.4)  # rounded to 1e-5°, about a metre
    assert frame.alt_m == (8000.0, None, 0.0)  # an unknown altitude stays unknown
    assert frame.course_deg == (90.0, 180.0, 270.0)
    assert frame.speed_mps == (100.0, 200.0, 5.0)


def test_the_picture_keeps_trails_and_scrubs_back_to_the_frame_at_or_before_a_time() -> None:
    picture = LivePicture(history_frames=3)
    for k in range(5):
        moved = snapshot(T + 10 * k)
        picture.update(frame_from_snapshot(replace(moved, lat=moved.lat + 0.01 * k)), ())
    assert picture.span() == (T + 20, T + 40)  # three frames kept
    assert picture.frame(T + 35) is not None
    assert picture.frame(T + 35).t == T + 30  # type: ignore[union-attr]
    assert picture.frame(T + 5) is None
    assert len(picture.trails(["id:p8"])["id:p8"]) == 5


def test_a_new_replay_starts_the_picture_over() -> None:
    picture = LivePicture()
    picture.update(frame_from_snapshot(snapshot(T + 100)), ())
    picture.update(frame_from_snapshot(snapshot(T)), ())
    assert picture.span() == (T, T)


def test_a_reader_gets_what_came_after_the_last_event_it_saw() -> None:
    stream = EventStream(capacity=10)
    for k in range(4):
        stream.publish("alarm", {"k": k})
    assert [e.data["k"] for e in stream.since(2)] == [2, 3]
    assert stream.since(4) == []


def test_a_reader_too_far_behind_or_from_before_a_restart_is_told_to_reload() -> None:
    stream = EventStream(capacity=3)
    for k in range(6):
        stream.publish("alarm", {"k": k})
    (behind,) = stream.since(1)
    assert (behind.kind, behind.data["reason"]) == ("reset", "missed events left the buffer")
    (restarted,) = stream.since(99)
    assert (restarted.kind, restarted.data["reason"]) == ("reset", "server restarted")


@given(st.integers(1, 50), st.integers(0, 60))
def test_resuming_never_loses_or_repeats_an_event_still_in_the_buffer(published: int, seen: int) -> None:
    stream = EventStream(capacity=20)
    for k in range(published):
        stream.publish("frame", {"k": k})
    got = stream.since(seen)
    if seen > published or seen < published - 20:
        assert [e.kind for e in got] == ["reset"]
    else:
        assert [e.seq for e in got] == list(range(seen + 1, published + 1))


def test_a_waiting_reader_wakes_when_the_stream_closes() -> None:
    stream = EventStream()
    woke: list[bool] = []
    reader = threading.Thread(target=lambda: woke.append(stream.wait(0, timeout=600.0)))
    reader.start()
    stream.close()
    reader.join(timeout=60.0)
    assert not reader.is_alive()
    assert woke == [True]


def test_an_empty_frame_is_empty() -> None:
    assert len(Frame.empty(T)) == 0
    assert Frame.empty(T).to_json()["ids"] == []


@pytest.mark.parametrize("t", [T, T + 0.5])
def test_a_frame_keeps_its_data_time(t: float) -> None:
    assert frame_from_snapshot(snapshot(t)).t == t
