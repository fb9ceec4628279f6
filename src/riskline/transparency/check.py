"""What a declared activity triggers and what it breaks, under a regime (Vienna Document 2011 ch. V–VIII).

``check_notification`` judges one notification at any date (analysts check past notifications too):

obligations  ``prior_notification`` (ch. V: a figure at or above a notification threshold),
             ``observation`` (ch. VI: at or above an observation threshold),
             ``annual_calendar`` (ch. VII: a notifiable activity belongs in the year's calendar, due 15 November
             of the year before), ``constraint`` (ch. VIII: the activity counts against a constraining tier);
breaches     ``late_notification`` (notified fewer than 42 days before the start),
             ``missing_from_calendar`` (notifiable, and not in the calendar), ``over_constraint`` (with the
             party's other activities, the tier's limit per calendar years or at the same time is exceeded);
warnings     ``threshold_hugging``: a figure within the margin (default 10 %) below a threshold
             (Zapad-2017: 12,700 troops declared against the 13,000 observation threshold).

Every item carries the figure, the threshold, and the threshold's mark and source, so an analyst sees how firm
the rule is. A cancelled notification triggers nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from riskline.timeutil import to_iso
from riskline.transparency.activity import ActivityNotification
from riskline.transparency.regime import Constraint, Regime, Threshold


@dataclass(frozen=True, slots=True)
class Item:
    """One obligation, breach or warning."""

    kind: str
    detail: str
    """One sentence for the analyst."""
    count: str | None = None
    declared: int | None = None
    threshold: int | None = None
    mark: str | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "detail": self.detail}
        for name in ("count", "declared", "threshold", "mark", "source"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True)
class CheckResult:
    designation: str
    party: str
    obligations: tuple[Item, ...]
    breaches: tuple[Item, ...]
    warnings: tuple[Item, ...]

    @property
    def compliant(self) -> bool:
        return not self.breaches

    def kinds(self, which: str) -> list[str]:
        items: tuple[Item, ...] = getattr(self, which)
        return [item.kind for item in items]

    def to_json(self) -> dict[str, Any]:
        return {
            "obligations": [item.to_json() for item in self.obligations],
            "breaches": [item.to_json() for item in self.breaches],
            "warnings": [item.to_json() for item in self.warnings],
        }


def check_notification(
    notification: ActivityNotification,
    regime: Regime,
    *,
    calendar: Iterable[str] | None = None,
    others: Sequence[ActivityNotification] = (),
) -> CheckResult:
    """Obligations, breaches and warnings of ``notification``.

    ``calendar``: the designations of the party's annual calendar for the activity's year, when known; it
    decides ``missing_from_calendar`` when the notification does not say ``calendar_year_listed`` itself.
    ``others``: the party's other (not cancelled) notifications, for the constraints of ch. VIII.
    """
    obligations: list[Item] = []
    breaches: list[Item] = []
    warnings: list[Item] = []
    if notification.cancelled:
        return CheckResult(notification.designation, notification.party, (), (), ())
    notifiable = _met(notification, regime.notification)
    if notifiable:
        obligations.append(
            Item(
                "prior_notification",
                f"{_figures(notifiable)}: notify {regime.notification_lead_s / 86_400:.0f} days before the start",
                count=notifiable[0].count,
                declared=notification.count(notifiable[0].count),
                threshold=notifiable[0].value,
                mark=notifiable[0].mark,
                source=notifiable[0].source,
            )
        )
        lead = notification.start - notification.notified  # [s]
        if lead < regime.notification_lead_s:
            breaches.append(
                Item(
                    "late_notification",
                    f"notified {to_iso(notification.notified)}, {lead / 86_400:.1f} days before the start "
                    f"{to_iso(notification.start)}; {regime.notification_lead_s / 86_400:.0f} days are due",
                    mark=regime.notification_lead_mark,
                    source=regime.notification_lead_source,
                    extra={"lead_days": round(lead / 86_400, 2), "due_days": regime.notification_lead_s / 86_400},
                )
            )
        due = datetime(notification.year - 1, regime.calendar_due_month, regime.calendar_due_day, tzinfo=UTC)
        obligations.append(
            Item(
                "annual_calendar",
                f"belongs in the {notification.year} calendar, due {due.date().isoformat()}",
                mark=regime.calendar_mark,
                source=regime.calendar_source,
                extra={"year": notification.year},
            )
        )
        listed = notification.calendar_year_listed
        if listed is None and calendar is not None:
            listed = notification.designation in set(calendar)
        if listed is False:
            breaches.append(
                Item(
                    "missing_from_calendar",
                    f"notifiable, and not in the {notification.year} annual calendar",
                    mark=regime.calendar_mark,
                    source=regime.calendar_source,
                    extra={"year": notification.year},
                )
            )
    observable = _met(notification, regime.observation)
    if observable:
        obligations.append(
            Item(
                "observation",
                f"{_figures(observable)}: invite observers from all participating States",
                count=observable[0].count,
                declared=notification.count(observable[0].count),
                threshold=observable[0].value,
                mark=observable[0].mark,
                source=observable[0].source,
            )
        )
    peers = [o for o in others if o.party == notification.party and not o.cancelled and o is not notification]
    peers = [o for o in peers if o.designation != notification.designation]
    for constraint in regime.constraints:
        if not constraint.applies_to(dict(notification.counts)):
            continue
        obligations.append(
            Item(
                "constraint",
                f"counts against '{constraint.name}': {constraint.description}",
                mark=constraint.mark,
                source=constraint.source,
                extra={"constraint": constraint.name},
            )
        )
        breaches.extend(_constraint_breaches(notification, constraint, peers))
    warnings.extend(_hugging(notification, regime))
    return CheckResult(
        notification.designation, notification.party, tuple(obligations), tuple(breaches), tuple(warnings)
    )


def _met(notification: ActivityNotification, thresholds: Iterable[Threshold]) -> list[Threshold]:
    return [t for t in thresholds if notification.count(t.count) >= t.value]


def _figures(met: list[Threshold]) -> str:
    return ", ".join(f"{t.count} ≥ {t.value:,}" for t in met)


def _year(t: float) -> int:
    return datetime.fromtimestamp(t, tz=UTC).year


def _constraint_breaches(
    notification: ActivityNotification, constraint: Constraint, others: list[ActivityNotification]
) -> list[Item]:
    breaches = []
    year = _year(notification.start)
    period = [
        o
        for o in others
        if constraint.applies_to(dict(o.counts)) and _period(_year(o.start), constraint) == _period(year, constraint)
    ]
    if len(period) + 1 > constraint.max_count:
        first = _period(year, constraint) * constraint.per_years
        span = f"{first}" if constraint.per_years == 1 else f"{first}–{first + constraint.per_years - 1}"
        breaches.append(
            Item(
                "over_constraint",
                f"{len(period) + 1} activities above '{constraint.name}' in {span}; at most {constraint.max_count}",
                mark=constraint.mark,
                source=constraint.source,
                extra={"constraint": constraint.name, "activities": sorted([o.designation for o in period])},
            )
        )
    if constraint.max_simultaneous is not None:
        overlapping = [
            o
            for o in others
            if constraint.applies_to(dict(o.counts)) and o.start < notification.end and notification.start < o.end
        ]
        if len(overlapping) + 1 > constraint.max_simultaneous:
            breaches.append(
                Item(
                    "over_constraint",
                    f"{len(overlapping) + 1} activities above '{constraint.name}' at the same time; "
                    f"at most {constraint.max_simultaneous}",
                    mark=constraint.mark,
                    source=constraint.source,
                    extra={"constraint": constraint.name, "simultaneous": sorted(o.designation for o in overlapping)},
                )
            )
    return breaches


def _period(year: int, constraint: Constraint) -> int:
    return year // constraint.per_years


def _hugging(notification: ActivityNotification, regime: Regime) -> list[Item]:
    margin = regime.hugging_margin
    tiers: list[tuple[str, Threshold]] = [("notification", t) for t in regime.notification]
    tiers += [("observation", t) for t in regime.observation]
    tiers += [(f"constraint '{c.name}'", t) for c in regime.constraints for t in c.thresholds]
    seen: set[tuple[str, int]] = set()
    warnings = []
    for tier, threshold in tiers:
        declared = notification.count(threshold.count)
        key = (threshold.count, threshold.value)
        if key in seen or not threshold.value * (1.0 - margin) <= declared < threshold.value:
            continue
        seen.add(key)
        below = threshold.value - declared
        warnings.append(
            Item(
                "threshold_hugging",
                f"{threshold.count} {declared:,} is {below:,} ({below / threshold.value:.1%}) below the "
                f"{tier} threshold {threshold.value:,}",
                count=threshold.count,
                declared=declared,
                threshold=threshold.value,
                mark=threshold.mark,
                source=threshold.source,
                extra={"tier": tier, "margin": margin},
            )
        )
    return warnings
