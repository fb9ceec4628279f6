"""The alarm life, kept on the server: raise → acknowledge (who, when) → resolve; snooze with a reason.

Pure transitions over a frozen ``Alarm``: each takes the alarm, who acts and the time, and returns the next
alarm, or raises ``AlarmConflict`` when the action does not fit the state. The store writes the result and the
action log in one transaction; the page only shows what the server decided.

What operators of other tools complain of, and what this does instead (issue 8):

* alarms that re-trigger: one alarm per encounter (rule and pair, with the tracker's hysteresis), never one per
  tick; it is raised again only when the encounter gets *worse* (its severity rises) after it was acknowledged,
  snoozed or resolved, or when a snooze runs out;
* alarms switched off without anyone seeing it: a snooze needs a reason and an end (at most ``MAX_SNOOZE_S``),
  names who did it, and a snoozed alarm stays on the list, marked as silenced, until it is resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from riskline.web.errors import AlarmConflict, BadRequest

MAX_SNOOZE_S = 4 * 3600.0  # [s] the longest snooze: half a watch
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class AlarmState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm: an encounter the duty officer must see, and what was done about it."""

    id: int
    key: str
    """``rule|a|b|opened``: one alarm per encounter (``opened`` is the encounter's start, data time [s])."""
    rule: str
    a: str
    b: str
    party_a: str
    party_b: str
    severity: str
    occurred: bool
    """False while the encounter is only predicted."""
    incident_id: int | None
    """The stored incident, once the encounter has closed and been stored."""
    state: AlarmState
    raised_at: float
    """[s] POSIX, the server's clock: when it was (last) raised."""
    reason: str
    """Why it was (last) raised: ``new encounter``, ``severity rose to high``, ``snooze ran out``."""
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None  # [s]
    snoozed_by: str | None = None
    snoozed_until: float | None = None  # [s]
    snooze_reason: str | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None  # [s]
    note: str | None = None

    @property
    def silenced(self) -> bool:
        return self.state is AlarmState.SNOOZED

    @property
    def active(self) -> bool:
        """Still the duty officer's business (not resolved)."""
        return self.state is not AlarmState.RESOLVED


def alarm_key(rule: str, a: str, b: str, opened: float) -> str:
    return f"{rule}|{a}|{b}|{opened:.3f}"


def acknowledge(alarm: Alarm, operator: str, now: float) -> Alarm:
    """raised or snoozed → acknowledged by ``operator`` at ``now``."""
    if alarm.state is AlarmState.ACKNOWLEDGED:
        raise AlarmConflict(f"alarm {alarm.id} was already acknowledged by {alarm.acknowledged_by}")
    if alarm.state is AlarmState.RESOLVED:
        raise AlarmConflict(f"alarm {alarm.id} is resolved; nothing to acknowledge")
    return replace(
        alarm,
        state=AlarmState.ACKNOWLEDGED,
        acknowledged_by=operator,
        acknowledged_at=now,
        snoozed_by=None,
        snoozed_until=None,
        snooze_reason=None,
    )


def snooze(alarm: Alarm, operator: str, now: float, *, duration_s: float, reason: str) -> Alarm:
    """Silence an unresolved alarm for ``duration_s`` (at most ``MAX_SNOOZE_S``), with a reason on record."""
    reason = reason.strip()
    if not reason:
        raise BadRequest("reason: a snooze needs a reason")
    if not 0 < duration_s <= MAX_SNOOZE_S:
        raise BadRequest(f"duration_s: between 0 and {MAX_SNOOZE_S:.0f} s, not {duration_s:g}")
    if alarm.state is AlarmState.RESOLVED:
        raise AlarmConflict(f"alarm {alarm.id} is resolved; nothing to snooze")
    return replace(
        alarm, state=AlarmState.SNOOZED, snoozed_by=operator, snoozed_until=now + duration_s, snooze_reason=reason
    )


def resolve(alarm: Alarm, operator: str, now: float, *, note: str | None = None) -> Alarm:
    """Any unresolved alarm → resolved by ``operator``; the note says how (optional)."""
    if alarm.state is AlarmState.RESOLVED:
        raise AlarmConflict(f"alarm {alarm.id} was already resolved by {alarm.resolved_by}")
    return replace(alarm, state=AlarmState.RESOLVED, resolved_by=operator, resolved_at=now, note=note or None)


def wake(alarm: Alarm, now: float) -> Alarm | None:
    """The alarm raised again if its snooze has run out at ``now``; None if nothing changes."""
    if alarm.state is AlarmState.SNOOZED and alarm.snoozed_until is not None and now >= alarm.snoozed_until:
        return replace(alarm, state=AlarmState.RAISED, raised_at=now, reason="snooze ran out")
    return None


def observe(alarm: Alarm, *, severity: str, occurred: bool, incident_id: int | None, now: float) -> Alarm | None:
    """The alarm after the watch reported its encounter again; None if nothing changes.

    A rise in severity raises an acknowledged, snoozed or even resolved alarm again (the encounter is worse
    than when the officer last looked); anything else only updates the facts (a prediction that came true, the
    stored incident's id) without a new alarm.
    """
    worse = SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(alarm.severity, 0)
    changed = replace(
        alarm,
        severity=severity if worse else alarm.severity,
        occurred=alarm.occurred or occurred,
        incident_id=incident_id if incident_id is not None else alarm.incident_id,
    )
    if worse and alarm.state is not AlarmState.RAISED:
        after = " after it was resolved" if alarm.state is AlarmState.RESOLVED else ""
        changed = replace(
            changed,
            state=AlarmState.RAISED,
            raised_at=now,
            reason=f"severity rose to {severity}{after}",
            snoozed_by=None,
            snoozed_until=None,
            snooze_reason=None,
        )
    return None if changed == alarm else changed
