"""Errors of the dashboard; each carries the HTTP status the page is answered with.

    DashboardError (400)            root: the dashboard cannot do what was asked
    ├── BadRequest (400)            a field of the request is missing or wrong (whose fault: the page or the caller);
    │                               the message names the field
    ├── NotLoggedIn (401)           no session, or it expired (whose fault: the browser; log in again)
    ├── Forbidden (403)             the operator's role does not allow the action, or the CSRF token is wrong
    │   └── ReadOnly (403)          a dashboard over a bare watch database: nothing can be changed from it
    ├── NoSuchAlarm (404)           no alarm with that id
    ├── AlarmConflict (409)         the action does not fit the alarm's state (acknowledging a resolved alarm)
    └── NotListening (2, CLI)       the dashboard was asked to listen beyond loopback without saying so

Storage errors (``riskline.storage.errors``) and node errors pass through with their own statuses.
"""

from __future__ import annotations

from riskline.errors import RisklineError


class DashboardError(RisklineError):
    """Root of every dashboard error; one line that names the field or the rule that refused."""

    http_status = 400


class BadRequest(DashboardError):
    http_status = 400


class NotLoggedIn(DashboardError):
    http_status = 401


class Forbidden(DashboardError):
    http_status = 403


class ReadOnly(Forbidden):
    pass


class NoSuchAlarm(DashboardError, LookupError):
    http_status = 404


class AlarmConflict(DashboardError):
    http_status = 409


class NotListening(DashboardError):
    exit_code = 2
