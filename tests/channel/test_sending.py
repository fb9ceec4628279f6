"""The sender's decisions without I/O: a peer's answer read once, and what each refusal leads to."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskline.channel.sending import (
    MAX_REBASES,
    GiveUp,
    PeerAnswer,
    Rebase,
    Refusal,
    Resend,
    RetryLater,
    RetryPolicy,
    Step,
    after_refusal,
    fresh_cosignature,
    parse_answer,
    refusal_of,
    step_after,
)


def body(value: object) -> bytes:
    return json.dumps(value).encode("utf-8")


def test_a_batch_taken_whole_is_its_receipts_and_no_refusal() -> None:
    answer = parse_answer(200, body({"receipts": [{"a": 1}, {"b": 2}], "error": None}), sent=2)
    assert answer == PeerAnswer(({"a": 1}, {"b": 2}), None)


def test_a_batch_taken_in_part_names_the_refusal_with_status_200() -> None:
    error = {"type": "OutOfOrder", "message": "expected seq 4", "field": "envelope.seq", "expected": 4}
    answer = parse_answer(200, body({"receipts": [{"a": 1}], "error": error}), sent=3)
    assert answer == PeerAnswer(({"a": 1},), Refusal("OutOfOrder", "expected seq 4", 200, "envelope.seq", 4))


@pytest.mark.parametrize(
    "text",
    [
        b"not json",
        b"[]",
        b'{"receipts": {}, "error": null}',
        b'{"receipts": []}',
        b'{"receipts": [{}], "error": null}',  # fewer receipts than envelopes, yet no refusal
        b'{"receipts": [{}, {}, {}], "error": null}',  # more than were sent
        b'{"receipts": [{}, {}], "error": {"type": "X", "message": "m"}}',  # all taken, and refused?
        b'{"receipts": [], "error": {"message": "no type"}}',
        b'{"receipts": [], "error": "OutOfOrder"}',
    ],
)
def test_a_200_that_is_not_a_batch_answer_is_none(text: bytes) -> None:
    assert parse_answer(200, text, sent=2) is None


def test_a_refused_batch_carries_the_riskline_error_document() -> None:
    error = {"error": {"type": "ConsistencyBaseMismatch", "message": "from 3", "field": None, "expected": 3}}
    assert parse_answer(409, body(error), sent=5) == PeerAnswer(
        (), Refusal("ConsistencyBaseMismatch", "from 3", 409, None, 3)
    )


def test_an_answer_that_is_not_riskline_is_named_by_its_status_and_first_line() -> None:
    assert refusal_of(502, b"<html>\n  Bad   gateway</html>") == Refusal("HTTP502", "<html> Bad gateway</html>", 502)
    assert refusal_of(503, b"", "Service Unavailable") == Refusal("HTTP503", "Service Unavailable", 503)
    assert refusal_of(400, b'{"error": {"type": "X", "message": "m", "expected": true}}').expected is None


@given(st.binary(max_size=300), st.integers(100, 599), st.integers(1, 10))
def test_no_answer_body_makes_the_parser_raise(raw: bytes, status: int, sent: int) -> None:
    answer = parse_answer(status, raw, sent)
    if answer is not None:
        assert len(answer.receipts) <= sent
        assert (answer.refusal is None) == (len(answer.receipts) == sent)


def refusal(kind: str, status: int = 409, expected: int | None = None) -> Refusal:
    return Refusal(kind, "why", status, None, expected)


@pytest.mark.parametrize(
    ("given_refusal", "rebases", "decision"),
    [
        (refusal("ConsistencyBaseMismatch", expected=3), 0, Rebase(3)),
        (refusal("ConsistencyBaseMismatch", expected=3), MAX_REBASES, RetryLater("409 ConsistencyBaseMismatch: why")),
        (refusal("ConsistencyBaseMismatch", expected=11), 0, RetryLater("409 ConsistencyBaseMismatch: why")),
        (refusal("ConsistencyBaseMismatch"), 0, RetryLater("409 ConsistencyBaseMismatch: why")),
        (refusal("OutOfOrder", expected=4), 0, Resend(4, "409 OutOfOrder: why")),
        (refusal("OutOfOrder", expected=7), 0, RetryLater("409 OutOfOrder: why")),
        (refusal("OutOfOrder", expected=0), 0, RetryLater("409 OutOfOrder: why")),
        (refusal("BadSignature", 401), 0, GiveUp("401 BadSignature: why")),
        (refusal("ReplayedEnvelope", 200), 0, GiveUp("ReplayedEnvelope: why")),
        (refusal("HTTP429", 429), 0, RetryLater("429 HTTP429: why")),
        (refusal("HTTP503", 503), 0, RetryLater("503 HTTP503: why")),
        (refusal("StorageFull", 507), 0, RetryLater("507 StorageFull: why")),
    ],
)
def test_what_each_refusal_leads_to(given_refusal: Refusal, rebases: int, decision: object) -> None:
    assert after_refusal(given_refusal, seq=7, sent_size=10, rebases=rebases) == decision


def test_how_delivery_goes_on_after_each_decision() -> None:
    assert [step_after(d) for d in (Rebase(1), Resend(1, ""), GiveUp(""), RetryLater(""))] == [
        Step.CONTINUE,
        Step.AGAIN,
        Step.CONTINUE,
        Step.STOP,
    ]


def test_a_batch_cosigned_fresh_has_at_least_one_receipt_that_is_not_a_duplicate() -> None:
    assert fresh_cosignature(({"duplicate": True}, {"duplicate": False}))
    assert not fresh_cosignature(({"duplicate": True}, "junk", {}))


def test_the_backoff_doubles_from_base_up_to_the_cap_scaled_by_the_jitter() -> None:
    policy = RetryPolicy(base=0.5, cap=30.0)
    assert [policy.delay(n, 1.0) for n in range(1, 10)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert policy.delay(3, 0.5) == 1.0
    assert policy.delay(10_000, 1.0) == 30.0
    with pytest.raises(ValueError, match=r"jitter must be within \[0.5, 1\], got 0.2"):
        policy.delay(1, 0.2)
