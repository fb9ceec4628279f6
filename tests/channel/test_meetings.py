"""A meeting's life derived from the log: the same state whatever order the entries arrived in; the checks."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from channel_builders import DAY, HOUR, NRC, RU_EE, T0, Node, meeting_proposal_body
from hypothesis import given, settings
from hypothesis import strategies as st

from riskline.channel.envelope import SignedEnvelope, sign_envelope
from riskline.channel.levels import ContactLevel
from riskline.channel.meeting_bodies import minutes_sha256
from riskline.channel.meetings import (
    Answer,
    ChannelDialogue,
    MeetingStatus,
    check_in_context,
    derive_actions,
    derive_meetings,
)
from riskline.channel.messages import InvalidField, MessageType
from riskline.channel.policy import ChannelPolicy

RU, EE, US = Node("ru-nmdc", "RU"), Node("ee-mod", "EE"), Node("us-eucom", "US")
MINUTES = {"text": "The parties reviewed the Baltic incidents of 2016.", "decisions": ["Keep transponders on."]}


@dataclass
class Life:
    """Every envelope of one meeting's whole life on the Council channel, in the order they were written."""

    proposal: SignedEnvelope
    entries: list[SignedEnvelope]
    minutes: SignedEnvelope
    action: SignedEnvelope


def whole_life(*, counter: bool = False, edit: bool = False) -> Life:
    """RU proposes an NRC meeting of RU, EE and US; all accept; EE drafts minutes; all approve; an action is done."""
    t = T0
    entries: list[SignedEnvelope] = []

    def send(node: Node, kind: MessageType, body: dict[str, Any]) -> SignedEnvelope:
        nonlocal t
        t += 60.0
        signed = node.compose(NRC, kind, body, created=t, log=False)
        entries.append(signed)
        return signed

    proposal = send(
        RU, MessageType.MEETING_PROPOSAL, meeting_proposal_body(start=T0 + 3 * DAY, parties=("RU", "EE", "US"))
    )
    meeting = proposal.id
    terms = meeting
    if counter:
        countered = send(US, MessageType.MEETING_COUNTER_PROPOSAL, {
            "meeting": meeting, "level": "ambassador", "start": "2023-11-18T09:00:00+01:00",
            "end": "2023-11-18T12:00:00+01:00", "timezone": "Europe/Brussels", "place": "NATO HQ, Brussels",
            "reason": "The US ambassador is away on the 17th.",
        })  # fmt: skip
        terms = countered.id
        send(RU, MessageType.MEETING_ACCEPTANCE, {"meeting": meeting, "terms": terms})
    send(EE, MessageType.MEETING_ACCEPTANCE, {"meeting": meeting, "terms": terms})
    if not counter:
        send(US, MessageType.MEETING_ACCEPTANCE, {"meeting": meeting, "terms": terms})
    minutes = send(EE, MessageType.MINUTES, {"meeting": meeting, **MINUTES})
    digest = minutes_sha256(minutes.envelope.body)
    for node in (RU, EE, US):
        send(node, MessageType.MINUTES_APPROVAL, {"meeting": meeting, "minutes": minutes.id, "sha256": digest})
    if edit:
        edited = {"meeting": meeting, **MINUTES, "decisions": ["Keep transponders on.", "Meet again in 2024."]}
        minutes = send(RU, MessageType.MINUTES, {**edited, "supersedes": minutes.id})
        send(EE, MessageType.MINUTES_APPROVAL, {"meeting": meeting, "minutes": minutes.id,
                                                 "sha256": minutes_sha256(minutes.envelope.body)})  # fmt: skip
    action = send(EE, MessageType.ACTION_ITEM, {
        "title": "Exchange duty officers' numbers", "owner": "RU", "due": "2023-12-01T00:00:00Z", "meeting": meeting,
    })  # fmt: skip
    send(RU, MessageType.ACTION_DONE, {"action": action.id, "note": "Numbers sent by diplomatic note."})
    return Life(proposal, entries, minutes, action)


def test_a_meeting_goes_from_proposed_to_minutes_approved_as_the_log_grows() -> None:
    life = whole_life()
    statuses = []
    for size in range(1, len(life.entries) + 1):
        meeting = derive_meetings(life.entries[:size])[life.proposal.id]
        statuses.append(str(meeting.status))
    assert statuses == [
        "proposed", "proposed", "confirmed", "held", "held", "held", "minutes_approved",
        "minutes_approved", "minutes_approved",
    ]  # fmt: skip
    meeting = derive_meetings(life.entries)[life.proposal.id]
    assert meeting.invited == ("EE", "RU", "US")
    assert dict(meeting.answers) == {"EE": Answer.ACCEPTED, "RU": Answer.ACCEPTED, "US": Answer.ACCEPTED}
    assert meeting.minutes is not None
    assert meeting.minutes.drafted_by == "EE"
    assert meeting.minutes.sha256 == minutes_sha256(life.minutes.envelope.body)
    assert meeting.approvals == ("EE", "RU", "US")
    assert (meeting.terms.start_text, meeting.terms.timezone) == ("2023-11-17T22:13:20Z", "Europe/Brussels")
    assert len(meeting.entries) == 7


def test_a_counter_proposal_replaces_the_terms_and_the_answers_to_the_old_ones_no_longer_count() -> None:
    life = whole_life(counter=True)
    meeting = derive_meetings(life.entries[:2])[life.proposal.id]
    assert meeting.terms.start_text == "2023-11-18T09:00:00+01:00"
    assert dict(meeting.answers) == {"EE": Answer.NEEDS_ACTION, "RU": Answer.NEEDS_ACTION, "US": Answer.ACCEPTED}
    assert derive_meetings(life.entries)[life.proposal.id].status is MeetingStatus.MINUTES_APPROVED


def test_an_edit_after_approval_voids_the_approvals() -> None:
    life = whole_life(edit=True)
    meeting = derive_meetings(life.entries)[life.proposal.id]
    assert meeting.status is MeetingStatus.HELD
    assert meeting.minutes is not None
    assert meeting.minutes.id == life.minutes.id
    assert meeting.approvals == ("EE",)


def test_an_action_item_is_open_until_its_owner_says_it_is_done() -> None:
    life = whole_life()
    open_item = derive_actions(life.entries[:-1])[life.action.id]
    assert (open_item.owner, open_item.is_done, open_item.is_overdue(1_701_388_800.0)) == ("RU", False, True)
    done = derive_actions(life.entries)[life.action.id]
    assert done.is_done
    assert done.note == "Numbers sent by diplomatic note."


def test_a_decline_or_a_cancellation_ends_the_meeting() -> None:
    proposal = RU.compose(RU_EE, MessageType.MEETING_PROPOSAL, meeting_proposal_body(start=T0 + DAY), created=T0,
                          log=False)  # fmt: skip
    decline = EE.compose(RU_EE, MessageType.MEETING_DECLINE,
                         {"meeting": proposal.id, "terms": proposal.id, "reason": "No agreement in force."},
                         created=T0 + 60, log=False)  # fmt: skip
    declined = derive_meetings([proposal, decline])[proposal.id]
    assert (declined.status, declined.reason) == (MeetingStatus.DECLINED, "EE: No agreement in force.")
    cancel = RU.compose(RU_EE, MessageType.MEETING_CANCELLATION, {"meeting": proposal.id, "reason": "Postponed."},
                        created=T0 + 120, log=False)  # fmt: skip
    assert derive_meetings([cancel, proposal])[proposal.id].status is MeetingStatus.CANCELLED


@settings(max_examples=60, deadline=None)
@given(data=st.data(), counter=st.booleans(), edit=st.booleans())
def test_the_order_of_arrival_does_not_change_the_derived_state(data: st.DataObject, counter: bool, edit: bool) -> None:
    life = whole_life(counter=counter, edit=edit)
    shuffled = data.draw(st.permutations(life.entries))
    prefix = data.draw(st.integers(min_value=0, max_value=len(shuffled)))
    assert derive_meetings(shuffled) == derive_meetings(life.entries)
    assert derive_actions(shuffled) == derive_actions(life.entries)
    # Any subset of the log (what one node holds before the rest arrives) derives the same as that subset sorted.
    subset = shuffled[:prefix]
    in_order = [e for e in life.entries if e in subset]
    assert derive_meetings(subset) == derive_meetings(in_order)


def refusal(envelope: SignedEnvelope, logged: list[SignedEnvelope], policy: ChannelPolicy = NRC) -> str:
    with pytest.raises(InvalidField) as caught:
        check_in_context(envelope.envelope, ChannelDialogue(logged), policy)
    assert caught.value.http_status == 422
    return str(caught.value)


def test_each_bad_message_is_refused_naming_the_field() -> None:
    life = whole_life()
    proposal = life.proposal
    body = meeting_proposal_body(start=T0 + DAY, parties=("RU", "EE"))
    bilateral = RU.compose(NRC, MessageType.MEETING_PROPOSAL, body, created=T0, log=False)
    intruder = US.compose(NRC, MessageType.MEETING_ACCEPTANCE, {"meeting": bilateral.id, "terms": bilateral.id},
                          created=T0 + 1, log=False)  # fmt: skip
    assert refusal(intruder, [bilateral]) == (
        f"sender.party: US was not invited to meeting {bilateral.id} (invited: EE, RU)"
    )
    minutes_id = life.minutes.id
    wrong = US.compose(NRC, MessageType.MINUTES_APPROVAL, {"meeting": proposal.id, "minutes": minutes_id,
                       "sha256": "0" * 64}, created=T0 + 3600, log=False)  # fmt: skip
    assert refusal(wrong, life.entries[:5]) == (
        f"body.sha256: {'0' * 64} differs from the hash of minutes {minutes_id}: "
        f"{minutes_sha256(life.minutes.envelope.body)}"
    )
    unknown = "ab" * 16
    citing = RU.compose(NRC, MessageType.MEETING_PROPOSAL, meeting_proposal_body(
        start=T0 + DAY, parties=("RU", "EE"), references=[{"kind": "incident", "id": unknown}]),
        created=T0, log=False)  # fmt: skip
    assert refusal(citing, []) == f"body.agenda.0.references.0.id: no incident report {unknown} on channel NRC"
    early = EE.compose(NRC, MessageType.MINUTES, {"meeting": bilateral.id, **MINUTES}, created=T0 + 5, log=False)
    assert refusal(early, [bilateral]) == (
        f"body.meeting: meeting {bilateral.id} is proposed: minutes come after every invited party accepted"
    )
    outsider = RU.compose(
        NRC,
        MessageType.MEETING_PROPOSAL,
        {**meeting_proposal_body(start=T0 + DAY), "participants": {"RU": [], "FI": []}},
        created=T0,
        log=False,
    )
    assert refusal(outsider, []) == "body.participants.FI: FI is not a member of channel NRC"
    not_owner = EE.compose(NRC, MessageType.ACTION_DONE, {"action": life.action.id, "note": "done"},
                           created=T0 + 2 * HOUR, log=False)  # fmt: skip
    assert refusal(not_owner, life.entries[:-1]) == (
        f"sender.party: only the owner party RU closes action item {life.action.id}"
    )
    cancel = EE.compose(NRC, MessageType.MEETING_CANCELLATION, {"meeting": proposal.id, "reason": "r"},
                        created=T0 + 2 * HOUR, log=False)  # fmt: skip
    assert refusal(cancel, life.entries) == (
        f"sender.party: only the proposer (RU) cancels meeting {proposal.id}; decline instead"
    )
    own = RU.compose(NRC, MessageType.MEETING_DECLINE, {"meeting": bilateral.id, "terms": bilateral.id, "reason": "r"},
                     created=T0 + 2, log=False)  # fmt: skip
    assert refusal(own, [bilateral]) == (
        f"sender.party: RU proposed meeting {bilateral.id}: the proposer cancels it, not declines it"
    )
    ghost = EE.compose(NRC, MessageType.MEETING_ACCEPTANCE, {"meeting": unknown, "terms": unknown},
                       created=T0 + 2 * HOUR, log=False)  # fmt: skip
    assert refusal(ghost, life.entries) == f"body.meeting: no meeting proposal {unknown} on channel NRC"


def test_the_whole_life_passes_the_checks_in_the_order_it_was_written() -> None:
    life = whole_life(counter=True, edit=True)
    dialogue = ChannelDialogue()
    for signed in life.entries:
        check_in_context(signed.envelope, dialogue, NRC)
        dialogue.add(signed)


def test_a_stored_schema_1_proposal_at_the_legacy_minister_level_is_still_read_and_derived() -> None:
    legacy_policy = replace(NRC, levels=(*NRC.levels, ContactLevel.MINISTER))
    current = RU.compose(legacy_policy, MessageType.FREE_TEXT, {"text": "x"}, created=T0, log=False)
    old_body = {
        "level": "minister",
        "date": T0 + 2 * DAY,
        "place": None,
        "agenda": [{"title": "Passes", "references": []}],
    }
    old = replace(
        current.envelope, type=MessageType.MEETING_PROPOSAL, schema=1, body=old_body, level=ContactLevel.MINISTER
    )
    stored = sign_envelope(old, RU.key).leaf_data()
    read = SignedEnvelope.from_leaf(stored)
    assert (read.envelope.schema, read.envelope.level) == (1, ContactLevel.MINISTER)
    meeting = derive_meetings([read])[read.id]
    assert (meeting.status, meeting.invited, meeting.terms.level) == (
        MeetingStatus.PROPOSED, ("EE", "RU", "US"), ContactLevel.MINISTER,
    )  # fmt: skip
    assert meeting.terms.end - meeting.terms.start == 7_200.0
