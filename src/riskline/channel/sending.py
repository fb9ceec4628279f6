"""The sending side of a channel as decisions without I/O (docs/channel.md, "Delivery").

The receiving side is ``protocol.check_batch``; this is its counterpart, in the shape of h11: the node's loop
(``riskline.node.delivery``) moves bytes and commits, and asks this module what a peer's answer means and what
to do next. Every decision is a small pure function over frozen values, so the tests drive the whole table
without sockets, clocks or a database.

* ``parse_answer`` reads the peer's answer to a batch ONCE, from its status and body bytes: the receipts of the
  envelopes it took (still as JSON: ``receipt.verify_receipt`` checks each) and why it refused the next, if it
  did. An answer that is not a riskline batch answer is ``None`` (a garbled or foreign peer: retry later).
* ``after_refusal`` decides what a refusal leads to:

  ===============================  ===================================================================
  refusal                          decision
  ===============================  ===================================================================
  ``ConsistencyBaseMismatch``      ``Rebase``: our idea of what the peer last cosigned was stale; prove
                                   again from the size it names (at most ``MAX_REBASES`` times a batch)
  ``OutOfOrder`` (earlier seq)     ``Resend``: the peer lost envelopes we thought delivered; queue them
                                   again from the seq it waits for
  ``OutOfOrder`` (otherwise)       ``RetryLater``
  other 4xx, or inside a batch     ``GiveUp``: resending will not cure it; the row fails permanently and
                                   later rows of its channel wait behind it
  5xx, 429 and the rest            ``RetryLater``
  ===============================  ===================================================================

* ``Backoff`` says when a peer that did not answer (or answered nonsense) is tried again: exponential with
  jitter, capped. The backoff belongs to the peer, not to a message: every pending row of the peer waits for
  it, including rows queued while it runs (``riskline.storage.channel_store.outbox.pending_due``).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

RETRYABLE_CONFLICTS = frozenset({"OutOfOrder", "ConsistencyBaseMismatch"})
"""Conflicts the sender resolves itself (they are 409s, yet not permanent)."""
MAX_REBASES = 2
"""Most ``ConsistencyBaseMismatch`` corrections for one batch before it is retried later."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How delivery retries and how much it sends at once.

    Exponential backoff with jitter: failure ``n`` of a peer waits ``min(cap, base * 2**(n-1))`` times 0.5–1.
    """

    base: float = 0.5  # [s]
    cap: float = 30.0  # [s]
    batch: int = 200
    """Most envelopes of one channel in one delivery batch (one request, one transaction at the peer)."""
    batches: int = 10
    """A round sends at most ``batch * batches`` envelopes of one channel (in batches, back to back, pipelined)."""
    rounds: int = 20
    """Most rounds (up to ``batches`` batches per channel with pending envelopes) to one peer in one pass."""

    def delay(self, failures: int, jitter: float) -> float:  # [s]
        """How long to wait after the ``failures``-th failure in a row; ``jitter`` in [0.5, 1] (drawn by the
        caller, so that this stays a function)."""
        if not 0.5 <= jitter <= 1.0:
            raise ValueError(f"jitter must be within [0.5, 1], got {jitter}")
        exponent = min(max(failures - 1, 0), 30)
        return min(self.cap, self.base * 2.0**exponent) * jitter


class Step(enum.Enum):
    """What a peer's delivery does after one channel's batches."""

    CONTINUE = "continue"
    """Go on with the next channel."""
    AGAIN = "again"
    """Go on, and start another round at once (rows were queued again)."""
    STOP = "stop"
    """Stop delivering to this peer in this pass (it is down, or its answers do not verify)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the peer did not take an envelope: its riskline error document and the HTTP status it came with
    (200 when it refused an envelope inside a batch whose earlier envelopes it took)."""

    type: str
    message: str
    status: int
    field: str | None = None
    expected: int | None = None
    """Where the sender resumes: the seq the peer waits for (``OutOfOrder``) or the size of our log it last
    cosigned (``ConsistencyBaseMismatch``)."""

    def describe(self) -> str:
        """One line for the outbox and the operator: ``409 OutOfOrder: …`` (no status inside a batch)."""
        text = f"{self.type}: {self.message}"
        return text if self.status == 200 else f"{self.status} {text}"

    @property
    def permanent(self) -> bool:
        """A refusal that resending will not cure: a 4xx (or a refusal inside a batch) other than the
        conflicts the sender resolves itself."""
        client_error = self.status == 200 or 400 <= self.status < 500
        return client_error and self.status != 429 and self.type not in RETRYABLE_CONFLICTS


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    """A peer's answer to a batch: the receipts (JSON objects, unverified) of the envelopes it took, in order,
    and why it refused the next one (None when it took them all)."""

    receipts: tuple[Any, ...]
    refusal: Refusal | None


def _expected(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def refusal_of(status: int, body: bytes, reason: str = "") -> Refusal:
    """The riskline error document of a non-200 answer, or a stand-in naming the HTTP status."""
    try:
        error = json.loads(body)["error"]
        return Refusal(
            type=str(error["type"]),
            message=str(error["message"]),
            status=status,
            field=None if error.get("field") is None else str(error["field"]),
            expected=_expected(error.get("expected")),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        text = " ".join(body[:400].decode("utf-8", "replace").split())[:200]
        return Refusal(type=f"HTTP{status}", message=text or reason or "no answer body", status=status)


def parse_answer(status: int, body: bytes, sent: int, reason: str = "") -> PeerAnswer | None:
    """The peer's answer to a batch of ``sent`` envelopes, parsed once; None when a 200 answer is not a
    riskline batch answer (more receipts than envelopes, a refusal without a type, …)."""
    if status != 200:
        return PeerAnswer((), refusal_of(status, body, reason))
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("receipts"), list) or "error" not in data:
        return None
    receipts: list[Any] = data["receipts"]
    error = data["error"]
    if error is None:
        return PeerAnswer(tuple(receipts), None) if len(receipts) == sent else None
    if len(receipts) >= sent or not isinstance(error, dict) or not isinstance(error.get("type"), str):
        return None
    refusal = Refusal(
        type=error["type"],
        message=str(error.get("message", "")),
        status=200,
        field=None if error.get("field") is None else str(error["field"]),
        expected=_expected(error.get("expected")),
    )
    return PeerAnswer(tuple(receipts), refusal)


def fresh_cosignature(receipts: tuple[Any, ...]) -> bool:
    """True when the peer cosigned the head a batch carried: at least one receipt is not a duplicate (a
    duplicate's receipt cosigns the head of its first delivery)."""
    return any(isinstance(wire, dict) and wire.get("duplicate") is False for wire in receipts)


# --- decisions -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rebase:
    """Prove the same envelopes again, from the size of our log the peer says it cosigned last."""

    cosigned_size: int


@dataclass(frozen=True, slots=True)
class Resend:
    """Queue the channel's envelopes to the peer again from ``seq`` on (the peer lost them), then go on."""

    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Leave the envelope queued; the peer is tried again after its backoff."""

    reason: str


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Mark the envelope ``failed-permanent`` and tell the operator; later ones of its channel wait behind it."""

    reason: str


Decision = Rebase | Resend | RetryLater | GiveUp


def after_refusal(refusal: Refusal, *, seq: int, sent_size: int, rebases: int) -> Decision:
    """What to do about the peer refusing the envelope with ``seq``, in a batch that carried our head of size
    ``sent_size`` after ``rebases`` corrections of the proof's start."""
    expected = refusal.expected
    rebase = refusal.type == "ConsistencyBaseMismatch" and rebases < MAX_REBASES
    if rebase and expected is not None and 0 <= expected <= sent_size:
        return Rebase(expected)
    if refusal.type == "OutOfOrder":
        if refusal.expected is not None and 0 < refusal.expected < seq:
            return Resend(refusal.expected, refusal.describe())
        return RetryLater(refusal.describe())
    if refusal.permanent:
        return GiveUp(refusal.describe())
    return RetryLater(refusal.describe())


def step_after(decision: Decision) -> Step:
    """How the peer's delivery goes on after ``decision`` (a ``Rebase`` goes on with the same batch)."""
    if isinstance(decision, Resend):
        return Step.AGAIN
    if isinstance(decision, GiveUp | Rebase):
        return Step.CONTINUE
    return Step.STOP
