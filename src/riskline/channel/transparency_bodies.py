"""Body schemas of the transparency messages (Vienna Document 2011 ch. V–VII), registered in ``messages.py``.

- ``activity_notification``: the notification JSON contract of ``riskline.transparency.activity``, key for key
  (ch. V); amendments and cancellations carry ``amends`` (the original's designation or message id).
- ``annual_calendar``: the year's notifiable activities of one party (ch. VII, due 15 November).
- ``observation_invitation``: the invitation to observe an activity (ch. VI).

``check_body`` holds what a schema alone cannot: valid polygons, end after start, and that a notification of an
activity already over is not sent (``notify check`` judges any date; the channel carries only live notices).
It returns the offending field and the reason, and ``messages.validate_body`` raises them as ``InvalidField``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from riskline.timeutil import parse_time
from riskline.transparency.activity import Area, IsoUtc, NotificationModel, parse_notification
from riskline.transparency.errors import InvalidNotification


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class ActivityNotificationBody(NotificationModel):
    """The notification itself (``riskline.transparency.activity.NotificationModel``)."""


class CalendarEntry(_Body):
    designation: str = Field(min_length=1)
    purpose: str = ""
    start: IsoUtc
    end: IsoUtc
    troops: Annotated[int, Field(ge=0)] = 0
    tanks: Annotated[int, Field(ge=0)] = 0
    acv: Annotated[int, Field(ge=0)] = 0
    artillery: Annotated[int, Field(ge=0)] = 0
    area: Area | None = None


class AnnualCalendarBody(_Body):
    party: str = Field(min_length=1)
    year: Annotated[int, Field(ge=1990, le=2200)]
    activities: list[CalendarEntry] = []
    """Empty: the party plans no notifiable activity that year (itself a statement)."""


class ObservationInvitationBody(_Body):
    designation: str = Field(min_length=1)
    """The activity observed."""
    references: list[Annotated[str, Field(min_length=1)]] = []
    """Message ids of its notification (and amendments)."""
    observers_per_state: Annotated[int, Field(ge=1, le=10)] = 2
    arrival: IsoUtc
    departure: IsoUtc
    assembly_point: str = Field(min_length=1)
    programme: str = ""
    reply_by: IsoUtc


TRANSPARENCY_BODIES: Mapping[str, type[BaseModel]] = {
    "activity_notification": ActivityNotificationBody,
    "annual_calendar": AnnualCalendarBody,
    "observation_invitation": ObservationInvitationBody,
}


def check_body(msg_type: str, body: BaseModel, created: float) -> tuple[str, str] | None:
    """(field, reason) of the first problem beyond the schema, or None; ``created`` [s] is the envelope's time."""
    if isinstance(body, ActivityNotificationBody):
        try:
            notification = parse_notification(body.model_dump(mode="json"))
        except InvalidNotification as error:
            return f"body.{error.field}", str(error).removeprefix(f"{error.field}: ")
        if notification.end <= created and not notification.cancelled:
            return "body.end", f"the activity ended at {body.end}, before this notification was sent"
    elif isinstance(body, AnnualCalendarBody):
        for index, entry in enumerate(body.activities):
            if parse_time(entry.end) <= parse_time(entry.start):
                return f"body.activities.{index}.end", f"{entry.end} is not after the start {entry.start}"
    elif isinstance(body, ObservationInvitationBody) and parse_time(body.departure) <= parse_time(body.arrival):
        return "body.departure", f"{body.departure} is not after the arrival {body.arrival}"
    return None
