"""``triage serve``: the morning list as a place to act (Starlette + Jinja2, served by uvicorn).

Routes (:mod:`triage.web.routes`, docs/web.md):

* ``GET /`` the signed-in AM's list (a manager's: every account), with one-click actions;
* ``GET /accounts/{id}`` one account: its place, trend, timeline, evidence and open asks with actions;
* ``GET /signals/{id}/source`` the message or meeting an evidence line came from;
* ``POST /actions`` done, not a problem, confirm, answered, snooze, undo (CSRF token required);
* ``GET /login?t=TOKEN`` signs in with a link; ``POST /logout`` signs out (the link stops working).

Nothing changes state on GET (mail clients prefetch links). Every route checks on the server that the
account is the user's: another AM's account is a 404. Pages are read from DuckDB read-only; when a flow
holds the file longer than ``[serve] db_wait_seconds``, the last page read is shown with a line saying
the list is being updated, and clicks are queued durably and applied once the file is free
(:mod:`triage.app.actions`; a background task retries every few seconds). The server logs no client
text, no key and no link token: its access log has paths without query strings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triage.settings import Settings
from triage.web.routes import routes
from triage.web.state import WebApp, access_log, log

__all__ = ["create_app"]


def create_app(settings: Settings) -> Starlette:
    """The ASGI app (routes in :mod:`triage.web.routes`)."""
    state = WebApp(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(state.drain_forever())
        try:
            yield
        finally:
            task.cancel()

    async def failed(request: Request, exc: Exception) -> Response:
        # one line, the type only (its text may quote a row of client data); the traceback with -vv
        log.error("%s %s failed: %s", request.method, request.url.path, type(exc).__name__,
                  exc_info=exc if log.isEnabledFor(logging.DEBUG) else None)
        return state.message("Something went wrong", "The page could not be shown; the error is in the server's "
                             "log. Try again in a minute.", 500, signed_in=True)

    app = Starlette(routes=routes(), lifespan=lifespan, middleware=[Middleware(AccessLog)],
                    exception_handlers={Exception: failed})
    app.state.web = state
    return app


class AccessLog:
    """One line per request: method, path (never the query string: it can hold a sign-in token), status, time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t = time.perf_counter()
        status = [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        await self.app(scope, receive, sending)
        access_log.info("%s %s %d %.0f ms", scope["method"], scope["path"], status[0], (time.perf_counter() - t) * 1000)
