"""The receiving node checks a meeting message against its own log: 422 naming the field, nothing kept.

A sender checks before signing (``test_dialogue_nodes``); here a sender that does not (a peer running other
software, or one whose log diverged) is simulated by switching the sender's check off, and the receiving
node's real ASGI app must refuse the delivery on its own.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskline.node import dialogue, messaging
from riskline.node.dialogue import Proposal
from riskline.storage import channel_store as store
from riskline.testing.clock import FakeClock
from riskline.testing.nodes import InProcess
from riskline.timeutil import to_iso


def proposal(clock: FakeClock, parties: tuple[str, ...]) -> Proposal:
    return Proposal(
        channel="NRC", forum="nrc-ambassadors", level="ambassador", start=to_iso(clock() + 2 * 86_400.0),
        end=to_iso(clock() + 2 * 86_400.0 + 7_200.0), place="NATO HQ, Brussels", timezone="Europe/Brussels",
        participants={party: [] for party in parties}, agenda=[{"title": "Air safety over the Baltic"}],
    )  # fmt: skip


def unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messaging, "check_outgoing", lambda *args, **kwargs: None)


def kept(trio: InProcess, party: str, envelope_id: str) -> bool:
    with trio[party].database.read() as connection:
        return store.message(connection, envelope_id) is not None


def refusal(trio: InProcess, sender: str, receiver: str, envelope_id: str) -> tuple[str, str]:
    """(the sender's outbox row state and error, the receiver's security event) for ``envelope_id``."""
    with trio[sender].database.read() as connection:
        [row] = [r for r in store.outbox_rows(connection, envelope_id) if r.peer == trio[receiver].config.id]
    with trio[receiver].database.read() as connection:
        [event] = [e for e in store.list_security_events(connection) if e.envelope_id == envelope_id]
    assert event.status == 422
    return f"{row.state}: {row.last_error}", f"{event.kind}: {event.message}"


def test_an_acceptance_from_a_party_that_was_not_invited_is_refused_by_every_receiver(
    trio: InProcess, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = dialogue.propose(trio["RU"], proposal(clock, ("RU", "EE"))).envelope.id
    trio.deliver("RU")
    unchecked(monkeypatch)
    intruder = dialogue.accept(trio["US"], meeting).envelope.id
    report = trio.deliver("US")
    assert report.failed_permanent == 2
    for receiver in ("RU", "EE"):
        assert not kept(trio, receiver, intruder)
        row, event = refusal(trio, "US", receiver, intruder)
        reason = f"sender.party: US was not invited to meeting {meeting} (invited: EE, RU)"
        assert row.startswith("failed-permanent")
        assert reason in row
        assert event == f"InvalidField: {reason}"


def test_an_approval_of_minutes_whose_hash_differs_is_refused(
    trio: InProcess, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting = dialogue.propose(trio["RU"], proposal(clock, ("RU", "EE"))).envelope.id
    trio.deliver("RU")
    dialogue.accept(trio["EE"], meeting)
    trio.deliver("EE")
    minutes = dialogue.draft_minutes(trio["RU"], meeting, text="Reviewed the passes.", decisions=["Talk monthly."])
    trio.deliver("RU")
    unchecked(monkeypatch)
    wrong = dialogue.approve_minutes(trio["EE"], meeting, sha256="0" * 64).envelope.id
    trio.deliver("EE")
    assert not kept(trio, "RU", wrong)
    _, event = refusal(trio, "EE", "RU", wrong)
    digest = dialogue.find_meeting(trio["RU"], meeting).minutes.sha256  # type: ignore[union-attr]
    assert event == (
        f"InvalidField: body.sha256: {'0' * 64} differs from the hash of minutes {minutes.envelope.id}: {digest}"
    )


def test_an_agenda_item_citing_an_unknown_incident_is_refused(
    trio: InProcess, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    unchecked(monkeypatch)
    unknown = "cd" * 16
    citing = replace(
        proposal(clock, ("RU", "EE", "US")),
        agenda=[{"title": "Passes", "references": [{"kind": "incident", "id": unknown}]}],
    )
    sent = dialogue.propose(trio["RU"], citing).envelope.id
    trio.deliver("RU")
    for receiver in ("EE", "US"):
        assert not kept(trio, receiver, sent)
        _, event = refusal(trio, "RU", receiver, sent)
        assert event == f"InvalidField: body.agenda.0.references.0.id: no incident report {unknown} on channel NRC"
