"""Errors of the transparency package (notifications, the regime file, NAVAREA/NOTAM texts, the compare).

    TransparencyError (2, 422)     root: a notification, regime or notice text cannot be accepted
    ├── InvalidNotification        a field of an activity notification is wrong; the message starts with it
    ├── RegimeError                the regime file is unreadable or invalid (whose fault: whoever edited it)
    └── NoticeTextError            a NAVAREA warning or NOTAM that does not parse: names the line and column

Every message is one line and names the field (or the line and column of a text).
"""

from __future__ import annotations

from riskline.errors import RisklineError


class TransparencyError(RisklineError):
    exit_code = 2
    http_status = 422


class InvalidNotification(TransparencyError):
    """A notification field is wrong; ``field`` names it (``area.coordinates``, ``troops``, ``end``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field


class RegimeError(TransparencyError):
    pass


class NoticeTextError(TransparencyError):
    """A NAVAREA or NOTAM text that does not parse; ``line`` and ``column`` are 1-based."""

    def __init__(self, line: int, column: int, reason: str) -> None:
        super().__init__(f"line {line}, column {column}: {reason}")
        self.line = line
        self.column = column
