"""The field types body schemas are built from (``messages.py`` and ``meeting_bodies.py``): ids, ISO times, text."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from riskline.channel.levels import ContactLevel

MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
"""A message id: the 32 lower-case hex digits of a UUID4 (``uuid.uuid4().hex``)."""
PARTY = re.compile(r"[A-Z][A-Z0-9_-]{0,15}")
"""A party code as node.toml writes it: ``EE``, ``RU``, ``US``."""


def is_message_id(value: object) -> bool:
    return isinstance(value, str) and MESSAGE_ID.fullmatch(value) is not None


def _message_id(value: str) -> str:
    if MESSAGE_ID.fullmatch(value) is None:
        raise ValueError("a message id is 32 lower-case hex digits")
    return value


def parse_iso(value: str) -> datetime:
    """An ISO 8601 time with a zone (``Z`` or an offset); ``ValueError`` otherwise."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError("an ISO 8601 time needs a zone (Z or an offset like +02:00)")
    return moment


def _iso_time(value: str) -> str:
    parse_iso(value)
    return value


def _party(value: str) -> str:
    if PARTY.fullmatch(value) is None:
        raise ValueError(f"a party is an upper-case code like 'EE', got {value!r}")
    return value


MessageId = Annotated[str, AfterValidator(_message_id)]
IsoTime = Annotated[str, AfterValidator(_iso_time)]
Party = Annotated[str, AfterValidator(_party)]
Text = Annotated[str, Field(min_length=1)]
Level = Annotated[ContactLevel, Field(strict=False)]
Seconds = float  # [s] POSIX; finite (allow_inf_nan=False)


class BodyModel(BaseModel):
    """Base of every body schema: frozen, no extra members, strict types, finite numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)
