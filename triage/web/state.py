"""The web app's state and what every route shares: who is asking, rendering, the last pages read."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from triage import app as application
from triage.app.actions import queue_of
from triage.db import Database, open_database
from triage.db.connection import writer_elsewhere
from triage.errors import DatabaseLockedError
from triage.log import get_logger
from triage.publish.html import environment
from triage.settings import Settings
from triage.web.auth import Signer, User, is_trusted_proxy, resolve_user
from triage.web.views import Directory, Marks, load_ams

__all__ = ["COOKIE", "SECURITY_HEADERS", "WebApp"]

log = get_logger("web")
access_log = get_logger("web.access")

COOKIE = "triage_session"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
#: how often the server tries to apply clicks that had to wait for the file
DRAIN_EVERY_SECONDS = 3.0


class WebApp:
    """The app's state: settings, the signer, the database (opened briefly per request), the last pages read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cfg = settings.serve
        self.signer = Signer(self.cfg.secret().get_secret_value())
        db = open_database(settings)
        self.db = Database(db.path, lock_timeout_seconds=self.cfg.db_wait_seconds,
                           retry_initial_seconds=0.02, retry_max_seconds=max(self.cfg.db_wait_seconds / 4, 0.05),
                           encryption_key_env=db.encryption_key_env)
        self.queue = queue_of(self.db)
        self.secure = (self.cfg.secure_cookies if self.cfg.secure_cookies is not None
                       else self.cfg.base_url.startswith("https://"))
        self.env = environment(jinja2.PackageLoader("triage.web", "templates"))
        #: the last page read per (user, page): served while a flow holds the file
        self._last: dict[tuple[str, str], tuple[tuple[tuple[int, int, int], ...], Any]] = {}
        self._directory: tuple[float, Directory] = (0.0, Directory([], {}))

    def directory(self) -> Directory:
        """Who owns which account (read again every 30 s; the last one while the file is held)."""
        at, d = self._directory
        if time.monotonic() - at > 30 or not d.ams:
            with contextlib.suppress(DatabaseLockedError):
                d = load_ams(self.db)
                self._directory = (time.monotonic(), d)
        return d

    def user_for(self, request: Request) -> tuple[User | None, str]:
        """(the user, what their CSRF token is bound to); (None, "") when not signed in."""
        header = self.cfg.proxy_header
        if header and request.headers.get(header):
            host = request.client.host if request.client else None
            if is_trusted_proxy(host, self.cfg.trusted_proxies):
                key = request.headers[header].strip().lower()
                return resolve_user(key, self.directory().ams, self.cfg.managers), f"proxy:{key}"
            log.warning("ignored the %s header from %s: not a trusted proxy", header, host)
        cookie = request.cookies.get(COOKIE)
        claims = self.signer.read_session(cookie) if cookie else None
        if claims is None or self.queue.is_revoked(claims.link_id):
            return None, ""
        return resolve_user(claims.user, self.directory().ams, self.cfg.managers), f"session:{claims.session_id}"

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(self, title: str, text: str, status: int, *, signed_in: bool = False) -> HTMLResponse:
        return self.page("message.html.j2", status, title=title, text=text, signed_in=signed_in)

    def web_context(self, user: User, bound: str, marks: Marks, notices: list[str],
                    flash: dict[str, Any] | None, *, asks_on_list: int | None = None) -> dict[str, Any]:
        today = date.today()
        return {
            "user": user,
            "csrf": self.signer.csrf(bound),
            "marks": marks,
            "names": self.directory().names,
            "flash": flash,
            "notices": notices,
            "today": today.isoformat(),
            "snooze_default": (today + timedelta(days=7)).isoformat(),
            "can_sign_out": bound.startswith("session:"),
            #: open asks shown per account on the list (the account page shows every one)
            "asks_on_list": asks_on_list,
        }

    def _stamp(self) -> tuple[tuple[int, int, int], ...]:
        """What changes whenever anything writes the database: the file's and its WAL's time, size and inode
        (an erasure's rewrite swaps the file)."""
        out = []
        for path in (self.db.path, self.db.path.with_name(self.db.path.name + ".wal")):
            try:
                st = path.stat()
            except OSError:
                out.append((0, 0, 0))
            else:
                out.append((st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(out)

    async def cached(self, key: tuple[str, str], load: Callable[[], Any]) -> tuple[Any, bool]:
        """(what ``load`` reads, whether it is the copy read last time because the file is held).

        Read again only when the database changed since (any write: a run, a click, an erasure changes the
        file or its WAL); a page viewed again with nothing written in between is the one read last time
        (the list page of 50 accounts: 90 ms of reading saved, docs/web.md)."""
        stamp = self._stamp()
        last = self._last.get(key)
        if last is not None and last[0] == stamp:
            # unchanged; a flow holding the file (about to write) is said on the page as when a read fails
            return last[1], writer_elsewhere(self.db.path)
        try:
            fresh = await run_in_threadpool(load)
        except DatabaseLockedError:
            if last is not None:
                return last[1], True
            raise
        self._last[key] = (stamp, fresh)
        return fresh, False

    def last_pages(self) -> list[tuple[tuple[str, str], Any]]:
        return [(key, page) for key, (_, page) in self._last.items()]

    async def drain_forever(self) -> None:
        """Apply clicks that waited for the file, as soon as it is free."""
        while True:
            await asyncio.sleep(DRAIN_EVERY_SECONDS)
            if not self.queue.path.exists():
                continue
            try:
                done = await run_in_threadpool(application.drain, self.settings, self.db,
                                               wait_seconds=self.cfg.db_wait_seconds)
                if done.applied:
                    log.info("applied %d queued action(s)", len(done.applied))
            except Exception:  # a bad moment must not stop the loop; the next pass tries again
                log.warning("applying queued actions failed; trying again", exc_info=True)
