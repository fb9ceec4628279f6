"""What a channel is and the rules it runs by: members, agreements in force, levels, languages, deadlines, ladder.

Read once from the node's TOML config (``[[channel]]`` tables, docs/channel.md) by ``ChannelPolicy.from_config``
— pydantic at that edge, one-line errors naming the field — and then passed as a frozen value everywhere.

Agreements are explicit: ``agreements = []`` means "no agreement in force" and ``describe()`` says so in
words (RU–EE have none, ELN 2016; REGIMES.md §1). Default response deadlines: ``link_test`` 300 s,
``incident_report`` 1 day, ``request_for_clarification`` 48 h (Vienna Document 2011 ch. III),
``meeting_proposal`` 7 days; a config may override each. The default escalation ladder is duty officer →
military commander → chargé d'affaires (bilateral) or ambassador (collective), then a meeting proposal to
the council channel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskline.channel.errors import ChannelError, ForeignChannel
from riskline.channel.forums import Forum, ForumConfig
from riskline.channel.levels import CURRENT_LEVELS
from riskline.channel.messages import ContactLevel, MessageType

DEFAULT_DEADLINES: Mapping[MessageType, float] = MappingProxyType(
    {
        MessageType.LINK_TEST: 300.0,  # [s] answered automatically by the peer node
        MessageType.INCIDENT_REPORT: 86_400.0,  # [s] 1 day
        MessageType.REQUEST_FOR_CLARIFICATION: 172_800.0,  # [s] 48 h, Vienna Document 2011 ch. III
        MessageType.MEETING_PROPOSAL: 604_800.0,  # [s] 7 days
    }
)
"""Response deadline spans by type; a type not listed here has none (escalation notices carry their own)."""

DEFAULT_MAX_AGE_S = 30 * 86_400.0  # [s] an envelope created longer ago than this (receiver's clock) is stale
DEFAULT_ESCALATION_MIN_STEP_S = 60.0  # [s] an escalation step's own deadline is never shorter than this
CHANNEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class InvalidPolicy(ChannelError, ValueError):
    """A channel's configuration cannot be used (whose fault: the operator's config file)."""

    http_status = 500


class ChannelKind(StrEnum):
    BILATERAL = "bilateral"
    """Two parties, e.g. ``RU-EE``."""
    COLLECTIVE = "collective"
    """Every member node receives every message, e.g. the NATO–Russia Council ``NRC``."""


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    """One channel's rules; build it with ``from_config`` or directly (checked in ``__post_init__``)."""

    id: str
    kind: ChannelKind
    members: tuple[str, ...]
    """Party codes, e.g. ``("RU", "EE")``."""
    agreements: tuple[str, ...] = ()
    """Agreements in force on this channel; empty means explicitly none."""
    rulebook: str = "default"
    """The watch's rulebook name, or ``none``."""
    levels: tuple[ContactLevel, ...] = CURRENT_LEVELS
    languages: tuple[str, ...] = ("en",)
    council: str | None = None
    """The collective channel that receives the last escalation step's meeting proposal, if any."""
    deadlines: Mapping[MessageType, float] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """[s] overrides of ``DEFAULT_DEADLINES`` per type."""
    ladder: tuple[ContactLevel, ...] = ()
    """Escalation ladder, lowest first; empty means the default for the channel's kind."""
    max_age_s: float = DEFAULT_MAX_AGE_S  # [s]
    escalation_min_step_s: float = DEFAULT_ESCALATION_MIN_STEP_S  # [s]
    forums: tuple[Forum, ...] = ()
    """Recurring meetings held on this channel (an INCSEA annual review, NRC ambassadors, …)."""

    def __post_init__(self) -> None:
        where = f"channel {self.id!r}"
        if not isinstance(self.id, str) or CHANNEL_ID.fullmatch(self.id) is None:
            raise InvalidPolicy(f"{where}: id: must be 1–64 letters, digits, '.', '_' or '-'")
        object.__setattr__(self, "kind", ChannelKind(self.kind))
        object.__setattr__(self, "members", tuple(self.members))
        object.__setattr__(self, "agreements", tuple(self.agreements))
        object.__setattr__(self, "levels", tuple(ContactLevel(level) for level in self.levels))
        object.__setattr__(self, "languages", tuple(self.languages))
        object.__setattr__(self, "ladder", tuple(ContactLevel(level) for level in self.ladder))
        overrides = {MessageType(key): float(value) for key, value in self.deadlines.items()}
        object.__setattr__(self, "deadlines", MappingProxyType(overrides))
        if len(set(self.members)) != len(self.members) or not all(self.members):
            raise InvalidPolicy(f"{where}: members: must be distinct, non-empty party codes")
        if len(self.members) < 2:
            raise InvalidPolicy(f"{where}: members: a channel needs at least two parties")
        if self.kind is ChannelKind.BILATERAL and len(self.members) != 2:
            count = len(self.members)
            raise InvalidPolicy(f"{where}: members: a bilateral channel has exactly two parties, got {count}")
        if not self.levels:
            raise InvalidPolicy(f"{where}: levels: at least one level of contact is needed")
        if not self.languages:
            raise InvalidPolicy(f"{where}: languages: at least one language is needed")
        if self.council == self.id:
            raise InvalidPolicy(f"{where}: council: a channel cannot be its own council")
        for message_type, span in overrides.items():
            if not (math.isfinite(span) and span > 0):
                raise InvalidPolicy(f"{where}: deadlines.{message_type}: must be a positive number of seconds")
        if not self.ladder:
            object.__setattr__(self, "ladder", _default_ladder(self.kind, self.levels))
        outside = [level for level in self.ladder if level not in self.levels]
        if outside:
            raise InvalidPolicy(f"{where}: ladder: {outside[0]} is not one of the channel's levels")
        for track in {level.track for level in self.ladder}:
            ranks = [level.rank for level in self.ladder if level.track is track]
            if ranks != sorted(set(ranks)):
                raise InvalidPolicy(f"{where}: ladder: levels must rise, lowest first, without repeats ({track} track)")
        object.__setattr__(self, "forums", tuple(self.forums))
        forum_ids = [forum.id for forum in self.forums]
        if len(set(forum_ids)) != len(forum_ids):
            raise InvalidPolicy(f"{where}: forums: a forum id appears twice")
        for forum in self.forums:
            if forum.level not in self.levels:
                raise InvalidPolicy(
                    f"{where}: forums.{forum.id}.level: {forum.level} is not one of the channel's levels"
                )
        for name in ("max_age_s", "escalation_min_step_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidPolicy(f"{where}: {name}: must be a positive number of seconds")

    @classmethod
    def from_config(cls, mapping: Mapping[str, Any]) -> ChannelPolicy:
        """Build from one ``[[channel]]`` TOML table; raises ``InvalidPolicy`` with a one-line, field-naming message."""
        if not isinstance(mapping, Mapping):
            raise InvalidPolicy(f"channel: a [[channel]] table is expected, got {type(mapping).__name__}")
        name = mapping.get("id")
        where = f"channel {name!r}" if isinstance(name, str) else "channel"
        try:
            config = _ChannelConfig.model_validate(dict(mapping))
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            path = ".".join(str(part) for part in first["loc"]) or "(table)"
            raise InvalidPolicy(f"{where}: {path}: {' '.join(first['msg'].split())}") from None
        return cls(
            id=config.id,
            kind=config.kind,
            members=tuple(config.members),
            agreements=tuple(config.agreements),
            rulebook=config.rulebook,
            levels=tuple(config.levels),
            languages=tuple(config.languages),
            council=config.council,
            deadlines=dict(config.deadlines),
            ladder=tuple(config.ladder),
            max_age_s=config.max_age_s,
            escalation_min_step_s=config.escalation_min_step_s,
            forums=tuple(forum.to_forum() for forum in config.forums),
        )

    @property
    def has_agreement(self) -> bool:
        return bool(self.agreements)

    def deadline_for(self, msg_type: MessageType) -> float | None:
        """[s] the response deadline span for ``msg_type`` on this channel, or None when no reply is owed."""
        message_type = MessageType(msg_type)
        if message_type in self.deadlines:
            return self.deadlines[message_type]
        return DEFAULT_DEADLINES.get(message_type)

    def next_level(self, level: ContactLevel) -> ContactLevel | None:
        """The ladder's next step after ``level``, or None when the ladder is exhausted.

        The ladder may cross tracks (military → diplomatic). A level on the ladder goes to the step after it; a
        level off the ladder goes to the step after the highest ladder level of its own track below it (or to
        the first ladder level of its track above it); a level whose track the ladder never uses goes nowhere.
        """
        level = ContactLevel(level)
        if level in self.ladder:
            position = self.ladder.index(level) + 1
            return self.ladder[position] if position < len(self.ladder) else None
        same_track = [i for i, step in enumerate(self.ladder) if step.track is level.track]
        if not same_track:
            return None
        below = [i for i in same_track if self.ladder[i].rank < level.rank]
        position = below[-1] + 1 if below else same_track[0]
        return self.ladder[position] if position < len(self.ladder) else None

    def recipients_for(self, sender_party: str) -> tuple[str, ...]:
        """Every member but the sender, in member order; ``ForeignChannel`` if the sender is not a member."""
        if sender_party not in self.members:
            raise ForeignChannel(f"party {sender_party!r} is not a member of channel {self.id!r}")
        return tuple(member for member in self.members if member != sender_party)

    def escalation_step_span(self, original_span: float) -> float:
        """[s] each escalation step's own deadline: the original span halved, never below the configured minimum."""
        return max(original_span / 2.0, self.escalation_min_step_s)

    def describe(self) -> str:
        """A few lines for an operator: who, under which agreement (or explicitly none), levels, languages."""
        if self.agreements:
            agreements = "agreements in force: " + "; ".join(self.agreements)
        else:
            agreements = "no agreement in force"
        ladder = " → ".join(str(level) for level in self.ladder)
        final = f"meeting proposal on {self.council}" if self.council else "recorded locally (no council channel)"
        lines = [
            f"channel {self.id} ({self.kind}: {', '.join(self.members)})",
            f"  {agreements}",
            f"  rulebook: {self.rulebook}",
            f"  levels: {', '.join(self.levels)}",
            f"  languages: {', '.join(self.languages)}",
            f"  escalation: {ladder} → {final}",
        ]
        spans = [f"{t} {span:g} s" for t in MessageType if (span := self.deadline_for(t)) is not None]
        lines.append(f"  deadlines: {', '.join(spans)}")
        for forum in self.forums:
            lines.append(f"  forum {forum.id}: {forum.name}, {forum.level}, every {forum.cadence_days:g} days")
        return "\n".join(lines)


def _default_ladder(kind: ChannelKind, levels: tuple[ContactLevel, ...]) -> tuple[ContactLevel, ...]:
    top = ContactLevel.CHARGE_D_AFFAIRES if kind is ChannelKind.BILATERAL else ContactLevel.AMBASSADOR
    wanted = (ContactLevel.DUTY_OFFICER, ContactLevel.MILITARY_COMMANDER, top)
    return tuple(level for level in wanted if level in levels)


PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _ChannelConfig(BaseModel):
    """The ``[[channel]]`` table as written in the node's config file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=64)]
    kind: ChannelKind
    members: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=2)]
    agreements: list[Annotated[str, Field(min_length=1)]]
    rulebook: str = "default"
    levels: Annotated[list[ContactLevel], Field(min_length=1)] = list(CURRENT_LEVELS)
    languages: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = ["en"]
    council: str | None = None
    deadlines: dict[MessageType, PositiveSeconds] = {}
    ladder: list[ContactLevel] = []
    max_age_s: PositiveSeconds = DEFAULT_MAX_AGE_S
    escalation_min_step_s: PositiveSeconds = DEFAULT_ESCALATION_MIN_STEP_S
    forums: list[ForumConfig] = []
