"""Recurring forums of a channel and when each is next due (docs/dialogue.md, "Forums").

A channel's config may declare forums that meet on a cadence (REGIMES.md §7, "Meetings"): the INCSEA
annual review (every agreement has one, alternating between capitals), the NATO–Russia Council's
ambassadors (a few times a year since 2014), its military experts. ``[[channel.forums]]`` tables:

    [[channel.forums]]
    id = "incsea-annual-review"
    name = "INCSEA annual review"
    level = "military_representative"
    cadence_days = 365
    lead_days = 60            # warn this long before it is due when nothing is proposed

A forum is next due one cadence after the start of its last meeting that was held (minutes drafted) or is
confirmed; never met, it is due now. ``forum_schedule`` is pure: the meetings come from the log, ``now`` is a
parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from riskline.channel.levels import ContactLevel

if TYPE_CHECKING:
    from riskline.channel.meetings import Meeting

DAY = 86_400.0  # [s]


@dataclass(frozen=True, slots=True)
class Forum:
    id: str
    name: str
    level: ContactLevel
    cadence_days: float
    """[d] how often it meets."""
    lead_days: float = 30.0
    """[d] from this long before it is due, a forum with nothing proposed is flagged."""
    place: str | None = None
    timezone: str = "UTC"

    def to_toml(self) -> dict[str, object]:
        table: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "level": str(self.level),
            "cadence_days": self.cadence_days,
            "lead_days": self.lead_days,
            "timezone": self.timezone,
        }
        if self.place is not None:
            table["place"] = self.place
        return table


class ForumConfig(BaseModel):
    """One ``[[channel.forums]]`` table as written in node.toml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    name: Annotated[str, Field(min_length=1)]
    level: ContactLevel
    cadence_days: Annotated[float, Field(gt=0, le=3660, allow_inf_nan=False)]
    lead_days: Annotated[float, Field(ge=0, le=3660, allow_inf_nan=False)] = 30.0
    place: str | None = None
    timezone: str = "UTC"

    def to_forum(self) -> Forum:
        return Forum(self.id, self.name, self.level, self.cadence_days, self.lead_days, self.place, self.timezone)


@dataclass(frozen=True, slots=True)
class ForumDue:
    """Where a forum stands at ``now``."""

    forum: Forum
    last: Meeting | None
    """Its latest meeting that was held or is confirmed."""
    next_due: float  # [s] one cadence after ``last`` started; ``now`` when it never met
    upcoming: Meeting | None
    """A meeting of the forum proposed or confirmed that has not started yet."""
    warning: str | None
    """Set when the forum is due (or within its lead time) and nothing is proposed."""


def forum_schedule(forum: Forum, meetings: Iterable[Meeting], *, now: float) -> ForumDue:
    """When ``forum`` is next due, given the channel's meetings (``meetings.derive_meetings``)."""
    mine = [meeting for meeting in meetings if meeting.forum == forum.id]
    met = [m for m in mine if m.status.took_place_or_confirmed and m.terms.start <= now]
    last = max(met, key=lambda m: (m.terms.start, m.id), default=None)
    next_due = now if last is None else last.terms.start + forum.cadence_days * DAY
    future = [m for m in mine if m.status.is_live and m.terms.start > now]
    upcoming = min(future, key=lambda m: (m.terms.start, m.id), default=None)
    warning: str | None = None
    if upcoming is None and next_due - now <= forum.lead_days * DAY:
        warning = (
            f"{forum.name} is due {'now' if next_due <= now else 'within ' + f'{(next_due - now) / DAY:.0f} days'}"
            " and no meeting is proposed"
        )
    return ForumDue(forum, last, next_due, upcoming, warning)
