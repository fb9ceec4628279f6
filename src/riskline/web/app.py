"""The dashboard's HTTP face: static page and assets, a JSON API, Server-Sent Events; sessions, roles, CSRF.

Security (issue 8 §3, docs/dashboard.md):

* sessions: a random 256-bit token in an ``HttpOnly; SameSite=Strict`` cookie, held in server memory (a restart
  logs everyone out), expiring after ``SESSION_S``; the password is checked with scrypt;
* every action names the role it needs (``accounts.require``), checked here on the server on every request;
* CSRF: every state-changing request carries ``X-CSRF-Token`` equal to the session's token (which only a page
  of this origin can read, from ``/api/session``), and an ``Origin``, when sent, must be this host;
* no secrets in the page: the page holds the CSRF token only; headers forbid framing, sniffing and referrers;
  a Content-Security-Policy allows this origin only, so nothing can be loaded from or sent to elsewhere.

A dashboard over a bare watch database (no node) needs no login and refuses every change (``ReadOnly``).
Errors are one-line JSON ``{"error": type, "detail": message}`` with the error's HTTP status.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.staticfiles import StaticFiles

from riskline.errors import RisklineError
from riskline.web.accounts import Action, Role, require
from riskline.web.backend import LOCAL_VIEWER, Dashboard, Operator
from riskline.web.errors import BadRequest, Forbidden, NotLoggedIn
from riskline.web.live import Event

SESSION_COOKIE = "riskline_session"
SESSION_S = 12 * 3600.0  # [s] a watch and a half
HEARTBEAT_S = 15.0  # [s] an SSE comment so proxies and the browser keep the stream open
CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@dataclass(slots=True)
class Session:
    operator: Operator
    csrf: str
    expires: float  # [s] monotonic


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions: dict[str, Session] = {}
        self._clock = clock

    def open(self, operator: Operator) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(operator, secrets.token_urlsafe(32), self._clock() + SESSION_S)
        self._sessions[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None or session.expires < self._clock():
            self._sessions.pop(token, None)
            return None
        return session

    def close(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)


def static_dir() -> Any:
    return resources.files("riskline.web").joinpath("static")


def create_dashboard_app(dashboard: Dashboard) -> FastAPI:
    """The dashboard as an ASGI app (serve it with ``riskline.web.server``, or test it in-process)."""
    app = FastAPI(title="riskline dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    sessions = Sessions()
    static = static_dir()
    app.state.sessions = sessions

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.exception_handler(RisklineError)
    async def riskline_error(_request: Request, error: RisklineError) -> JSONResponse:
        return JSONResponse({"error": type(error).__name__, "detail": str(error)}, status_code=error.http_status)

    def operator_of(request: Request) -> Operator:
        if dashboard.read_only:
            return LOCAL_VIEWER
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise NotLoggedIn("not logged in (or the session expired): log in again")
        return session.operator

    def acting(request: Request) -> Operator:
        """The operator of a state-changing request, after the CSRF and origin checks."""
        _check_origin(request)
        if dashboard.read_only:
            operator_of(request)
            from riskline.web.errors import ReadOnly

            raise ReadOnly("this dashboard is read-only (a watch database without a node): nothing can be changed")
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise NotLoggedIn("not logged in (or the session expired): log in again")
        token = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(token.encode(), session.csrf.encode()):
            raise Forbidden("CSRF token missing or wrong: reload the page")
        return session.operator

    async def body_of(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadRequest("body: JSON object expected") from None
        if not isinstance(data, dict):
            raise BadRequest("body: JSON object expected")
        return data

    # ------------------------------------------------------------------ page and assets

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")), media_type="text/html")

    @app.get("/incident/{incident_id}", include_in_schema=False)
    async def incident_page(incident_id: int) -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    # ------------------------------------------------------------------ session

    @app.post("/api/login")
    async def login(request: Request) -> JSONResponse:
        _check_origin(request)
        if dashboard.read_only:
            return JSONResponse(_session_json(LOCAL_VIEWER, "", dashboard))
        data = await body_of(request)
        name, password = data.get("name"), data.get("password")
        if not isinstance(name, str) or not name:
            raise BadRequest("name: the operator name is required")
        if not isinstance(password, str) or not password:
            raise BadRequest("password: required")
        operator = await asyncio.to_thread(dashboard.authenticate, name, password)
        token, session = sessions.open(operator)
        response = JSONResponse(_session_json(operator, session.csrf, dashboard))
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            path="/",
            max_age=int(SESSION_S),
            secure=request.url.scheme == "https",
        )
        return response

    @app.post("/api/logout")
    async def logout(request: Request) -> JSONResponse:
        acting(request)
        sessions.close(request.cookies.get(SESSION_COOKIE))
        response = JSONResponse({"ok": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/api/session")
    async def session_info(request: Request) -> JSONResponse:
        if dashboard.read_only:
            return JSONResponse(_session_json(LOCAL_VIEWER, "", dashboard))
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise NotLoggedIn("not logged in")
        return JSONResponse(_session_json(session.operator, session.csrf, dashboard))

    # ------------------------------------------------------------------ reading

    @app.get("/api/state")
    async def state(request: Request) -> JSONResponse:
        operator = operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.state, operator))

    @app.get("/api/frame")
    async def frame(request: Request, t: float) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.frame_at, t))

    @app.get("/api/incidents/{incident_id}")
    async def incident(request: Request, incident_id: int) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.incident, incident_id))

    @app.get("/api/channel")
    async def channel(request: Request) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.channel))

    @app.get("/api/areas")
    async def areas(request: Request) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.hazard_areas))

    @app.get("/api/exercise-areas")
    async def exercise_areas(request: Request) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.exercise_areas))

    @app.get("/api/thread/{reference}")
    async def thread(request: Request, reference: str) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.thread, reference))

    @app.get("/api/actions")
    async def actions(request: Request) -> JSONResponse:
        operator_of(request)
        return JSONResponse(await asyncio.to_thread(dashboard.actions))

    @app.get("/api/operators")
    async def operators(request: Request) -> JSONResponse:
        operator = operator_of(request)
        require(operator.role, Action.MANAGE_OPERATORS, operator.name)
        return JSONResponse(await asyncio.to_thread(dashboard.operators))

    @app.get("/api/events")
    async def events(request: Request, since: int | None = None) -> StreamingResponse:
        operator_of(request)
        header = request.headers.get("last-event-id")
        start = (
            since if since is not None else (int(header) if header and header.isdigit() else dashboard.events.last_seq)
        )
        return StreamingResponse(
            _event_stream(request, dashboard, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ acting

    @app.post("/api/alarms/{alarm_id}/{action}")
    async def alarm_action(request: Request, alarm_id: int, action: str) -> JSONResponse:
        operator = acting(request)
        data = await body_of(request) if await request.body() else {}
        return JSONResponse(await asyncio.to_thread(dashboard.alarm_action, operator, alarm_id, action, data))

    @app.post("/api/incidents/{incident_id}/report")
    async def send_report(request: Request, incident_id: int) -> JSONResponse:
        operator = acting(request)
        data = await body_of(request)
        channel = data.get("channel")
        if not isinstance(channel, str) or not channel:
            raise BadRequest("channel: the channel to send the report on is required")
        narrative = data.get("narrative")
        if narrative is not None and not isinstance(narrative, str):
            raise BadRequest("narrative: text expected")
        again = data.get("again", False)
        if not isinstance(again, bool):
            raise BadRequest("again: true or false")
        return JSONResponse(
            await asyncio.to_thread(dashboard.send_report, operator, incident_id, channel, narrative, again=again)
        )

    @app.post("/api/messages/{reference}/reply")
    async def reply(request: Request, reference: str) -> JSONResponse:
        operator = acting(request)
        data = await body_of(request)
        text = data.get("text")
        if not isinstance(text, str):
            raise BadRequest("text: the reply text is required")
        return JSONResponse(await asyncio.to_thread(dashboard.reply, operator, reference, text))

    @app.post("/api/messages/{reference}/acknowledge")
    async def acknowledge_message(request: Request, reference: str) -> JSONResponse:
        operator = acting(request)
        data = await body_of(request) if await request.body() else {}
        note = data.get("note")
        if note is not None and not isinstance(note, str):
            raise BadRequest("note: text expected")
        return JSONResponse(await asyncio.to_thread(dashboard.acknowledge_message, operator, reference, note))

    return app


def _session_json(operator: Operator, csrf: str, dashboard: Dashboard) -> dict[str, Any]:
    return {
        "operator": operator.name,
        "role": operator.role.value,
        "csrf": csrf,
        "read_only": dashboard.read_only,
        "title": dashboard.title,
        "can_act": not dashboard.read_only and operator.role is not Role.VIEWER,
    }


def _check_origin(request: Request) -> None:
    """A browser's ``Origin`` on a state-changing request must be this very host (no cross-site posts)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1] != host:
        raise Forbidden(f"origin {origin} is not this dashboard ({host})")


def _sse(event: Event) -> str:
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {json.dumps(event.data, separators=(',', ':'))}\n\n"


async def _event_stream(request: Request, dashboard: Dashboard, start: int) -> AsyncIterator[str]:
    """Events after ``start``; of several frames waiting, only the newest is sent (the map needs no more)."""
    last = start
    yield "retry: 1000\n\n"
    while not dashboard.events.closed:
        events = dashboard.events.since(last)
        if events:
            newest_frame = max((e.seq for e in events if e.kind == "frame"), default=None)
            for event in events:
                if event.kind == "frame" and event.seq != newest_frame:
                    continue
                yield _sse(event)
            last = events[-1].seq
            continue
        if await request.is_disconnected():
            return
        arrived = await asyncio.to_thread(dashboard.events.wait, last, HEARTBEAT_S / 15)
        if not arrived and await request.is_disconnected():
            return
        if not arrived:
            idle_since = getattr(request.state, "idle", 0) + 1
            request.state.idle = idle_since
            if idle_since % 15 == 0:
                yield ": keep-alive\n\n"
