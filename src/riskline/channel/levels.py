"""Levels of contact, in two ordered tracks: military and diplomatic (docs/dialogue.md, "Levels of contact").

The seeds of this project ask for "dialogue at any level, including chargé d'affaires"; the NATO–Russia
Council met as ambassadors, military representatives, chiefs of defence and ministers (REGIMES.md §7,
"Meetings"). Each track is ordered, lowest first:

- military: expert → duty_officer → military_commander → military_representative → chief_of_defence →
  defence_minister;
- diplomatic: charge_d_affaires → ambassador → foreign_minister.

Levels of different tracks are not compared: a channel's escalation ladder says how it crosses from one
track to the other. ``minister`` is the single-track schema's top level (riskline before two tracks): kept so
that stored messages stay readable, placed at the top of the diplomatic track, and never offered for new
channels.
"""

from __future__ import annotations

from enum import StrEnum


class ContactTrack(StrEnum):
    MILITARY = "military"
    DIPLOMATIC = "diplomatic"


class ContactLevel(StrEnum):
    """A level of contact; ``track`` and ``rank`` (within the track, 0 lowest) order it."""

    EXPERT = "expert"
    DUTY_OFFICER = "duty_officer"
    MILITARY_COMMANDER = "military_commander"
    MILITARY_REPRESENTATIVE = "military_representative"
    CHIEF_OF_DEFENCE = "chief_of_defence"
    DEFENCE_MINISTER = "defence_minister"
    CHARGE_D_AFFAIRES = "charge_d_affaires"
    AMBASSADOR = "ambassador"
    FOREIGN_MINISTER = "foreign_minister"
    MINISTER = "minister"
    """Legacy (single-track schema): readable in stored messages, not offered for new channels."""

    @property
    def track(self) -> ContactTrack:
        return ContactTrack.MILITARY if self in MILITARY_TRACK else ContactTrack.DIPLOMATIC

    @property
    def rank(self) -> int:
        """0 for the lowest level of the track; the legacy ``minister`` ranks with the foreign minister."""
        if self is ContactLevel.MINISTER:
            return DIPLOMATIC_TRACK.index(ContactLevel.FOREIGN_MINISTER)
        return (MILITARY_TRACK if self in MILITARY_TRACK else DIPLOMATIC_TRACK).index(self)

    @property
    def is_legacy(self) -> bool:
        return self is ContactLevel.MINISTER

    def outranks(self, other: ContactLevel) -> bool:
        """True when both are on one track and this one is higher."""
        return self.track is other.track and self.rank > other.rank


MILITARY_TRACK: tuple[ContactLevel, ...] = (
    ContactLevel.EXPERT,
    ContactLevel.DUTY_OFFICER,
    ContactLevel.MILITARY_COMMANDER,
    ContactLevel.MILITARY_REPRESENTATIVE,
    ContactLevel.CHIEF_OF_DEFENCE,
    ContactLevel.DEFENCE_MINISTER,
)
DIPLOMATIC_TRACK: tuple[ContactLevel, ...] = (
    ContactLevel.CHARGE_D_AFFAIRES,
    ContactLevel.AMBASSADOR,
    ContactLevel.FOREIGN_MINISTER,
)
CURRENT_LEVELS: tuple[ContactLevel, ...] = MILITARY_TRACK + DIPLOMATIC_TRACK
"""Every level a new channel may use, military track first."""
