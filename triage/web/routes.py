"""The web app's routes: pages (GET, never changing anything), actions and sign-in (POST, CSRF-checked).

Every handler asks :meth:`~triage.web.state.WebApp.user_for` who is asking and checks on the server that
the account is theirs; another AM's account is a 404, a form without a valid CSRF token a 403.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from triage import app as application
from triage.errors import DatabaseLockedError, TriageError
from triage.publish.html import render_page
from triage.publish.trend import trend_svg
from triage.score.feedback import ACTIONS, REASON_CODES, new_action
from triage.web.auth import LinkError, User, resolve_user, safe_next
from triage.web.state import COOKIE, SECURITY_HEADERS, WebApp, log
from triage.web.views import Marks, load_account_page, load_list_page, load_marks, load_source

__all__ = ["routes"]

_WORDS = {"done": "Done: called", "dismiss": "Not a problem", "confirm": "Confirmed", "answered": "Answered",
          "snooze": "Snoozed", "undo": "Undone"}
_NOT_SIGNED_IN = ("Sign in with the link in your morning digest, or ask your admin for one "
                  "(`triage link --am \"Your Name\"`).")


#: open asks per account on the list page (overdue and client asks first); the account page lists them all
ASKS_ON_LIST = 5


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _not_found(state: WebApp) -> HTMLResponse:
    return state.message("Not found", "There is no such page, or it is not one of your accounts.", 404,
                         signed_in=True)


def _stale_or_none(state: WebApp, request: Request, user: User, page: Any, stale: bool) -> list[str]:
    out = []
    if stale:
        out.append(f"The list is being updated; this is the list as read at {page.loaded_at:%H:%M} UTC. "
                   "Your clicks are kept and applied as soon as the update lets go of the database.")
    elif page.updating:
        out.append("A run is updating the list now; it may change in a few minutes.")
    if request.query_params.get("queued"):
        out.append("Saved. The list is being updated, so your action waits in the queue: it is applied, once, "
                   "as soon as the update lets go of the database.")
    out += [f"An action could not be applied: {r.why}" for r in state.queue.rejected(user.name, time.time() - 3600)]
    return out


def _flash(state: WebApp, request: Request, user: User, marks: Marks,
           rank_now: dict[str, int]) -> dict[str, Any] | None:
    """The line that says what the last click did (and how the account moved), with its undo."""
    fid = request.query_params.get("did")
    if not fid or fid not in marks.actions:
        return None
    action, acc, _target, _author, _at = marks.actions[fid]
    if not user.can_see(acc):
        return None
    name = state.directory().names.get(acc or "", acc or "")
    text = f"{name}: {_WORDS.get(action, action)}."
    was, now = request.query_params.get("was"), rank_now.get(acc or "")
    if was and was.isdigit():
        text += f" It was #{was}; it is now {f'#{now}' if now else 'off the list'}."
    elif now:
        text += f" It is now #{now}."
    return {"text": text, "undo": fid if action != "undo" else None, "back": f"/#account-{acc}"}


async def _signed_in(state: WebApp, request: Request) -> tuple[User, str] | Response:
    user, bound = await run_in_threadpool(state.user_for, request)
    if user is None:
        why = ("Your address is not an account manager of any account here."
               if bound.startswith("proxy:") else _NOT_SIGNED_IN)
        return state.message("Please sign in", why, 401 if not bound else 403)
    return user, bound


def _state(request: Request) -> WebApp:
    web: WebApp = request.app.state.web
    return web


Handler = Callable[[WebApp, Request, User, str], Awaitable[Response]]


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route for signed-in users only: the handler gets the app's state, the user and what their CSRF
    token is bound to; anyone else gets the sign-in page (401) or a refusal (403)."""

    async def route(request: Request) -> Response:
        state = _state(request)
        who = await _signed_in(state, request)
        if isinstance(who, Response):
            return who
        return await handler(state, request, *who)

    route.__name__ = handler.__name__
    return route


def _busy(state: WebApp) -> HTMLResponse:
    return state.message("Being updated", "The list is being built right now; try again in a minute.", 503,
                         signed_in=True)


@signed_in
async def home(state: WebApp, request: Request, user: User, bound: str) -> Response:
    lookback = state.settings.scoring.lookback_days
    try:
        page, stale = await state.cached((user.key, "/"), lambda: load_list_page(state.db, user, lookback))
    except DatabaseLockedError:
        return _busy(state)
    ranks = {e.account_id: e.rank for e in page.entries}
    web = state.web_context(user, bound, page.marks, _stale_or_none(state, request, user, page, stale),
                            _flash(state, request, user, page.marks, ranks), asks_on_list=ASKS_ON_LIST)
    heading = "Every account to call today" if user.manager else f"Accounts to call today: {user.name}"
    html = render_page(page.entries, as_of=page.as_of or date.today(), org_name=state.settings.org.name,
                       run=page.run, unknown=page.unknown, heading=heading, show_unknown=user.manager,
                       trends=page.trends, web=web, env=state.env, generated_at=page.loaded_at)
    return HTMLResponse(html, headers=SECURITY_HEADERS)

@signed_in
async def account(state: WebApp, request: Request, user: User, bound: str) -> Response:
    account_id = request.path_params["account_id"]
    if not user.can_see(account_id):
        return _not_found(state)
    try:
        page, stale = await state.cached((user.key, account_id),
                                         lambda: load_account_page(state.db, user, account_id))
    except DatabaseLockedError:
        return _busy(state)
    except TriageError:  # an account id that is not loaded (any more)
        return _not_found(state)
    if page is None:
        return _not_found(state)
    ranks = {page.entry.account_id: page.entry.rank} if page.entry else {}
    web = state.web_context(user, bound, page.marks, _stale_or_none(state, request, user, page, stale),
                            _flash(state, request, user, page.marks, ranks))
    return state.page("account.html.j2", tl=page.timeline, e=page.entry, web=web,
                      chart=trend_svg(page.trend) if page.trend else None, reason_codes=REASON_CODES,
                      org_name=state.settings.org.name)

@signed_in
async def source(state: WebApp, request: Request, user: User, bound: str) -> Response:
    try:
        view = await run_in_threadpool(load_source, state.db, user, request.path_params["signal_id"])
    except DatabaseLockedError:
        return _busy(state)
    if view is None:
        return _not_found(state)
    return state.page("source.html.j2", v=view)

@signed_in
async def act(state: WebApp, request: Request, user: User, bound: str) -> Response:
    form = await request.form()
    if not state.signer.csrf_ok(bound, str(form.get("csrf") or "")):
        return state.message("Refused", "This form is out of date or did not come from this site: reload the "
                             "page and try again.", 403, signed_in=True)
    return await _act(state, request, user, {k: str(v) for k, v in form.items()})

async def login(request: Request) -> Response:
    state = _state(request)
    token = request.query_params.get("t", "")
    try:
        claims = state.signer.read_link(token)
    except LinkError as e:
        return state.message("This link does not work", f"{e}. Ask for a new one: your next digest has one, or "
                             "your admin can make one (`triage link --am \"Your Name\"`).", 403)
    if await run_in_threadpool(state.queue.is_revoked, claims.link_id):
        return state.message("Signed out", "You signed out with this link; it does not sign in again. Use the "
                             "link in your next digest, or ask for a new one.", 403)
    if resolve_user(claims.user, state.directory().ams, state.cfg.managers) is None:
        return state.message("Not an account manager", "This link is for someone who owns no account here.", 403)
    response = _redirect(safe_next(request.query_params.get("next")))
    response.set_cookie(COOKIE, state.signer.session(claims), max_age=max(int(claims.expires - time.time()), 1),
                        httponly=True, samesite="lax", secure=state.secure, path="/")
    return response

@signed_in
async def logout(state: WebApp, request: Request, user: User, bound: str) -> Response:
    form = await request.form()
    if not state.signer.csrf_ok(bound, str(form.get("csrf") or "")):
        return state.message("Refused", "This form did not come from this site.", 403, signed_in=True)
    claims = state.signer.read_session(request.cookies.get(COOKIE, ""))
    if claims is not None:
        await run_in_threadpool(state.queue.revoke, claims.link_id, claims.expires)
    response = state.message("Signed out", "You are signed out; the link you signed in with no longer works.",
                             200)
    response.delete_cookie(COOKIE, path="/")
    return response

async def health(_request: Request) -> Response:
    return PlainTextResponse("ok")


def routes() -> list[Route]:
    return [
        Route("/", home),
        Route("/accounts/{account_id}", account),
        Route("/signals/{signal_id}/source", source),
        Route("/actions", act, methods=["POST"]),
        Route("/login", login),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", health),
    ]




async def _act(state: WebApp, request: Request, user: User, form: dict[str, str]) -> Response:
    """One click: checked, queued durably, applied and the list built again when the file is free."""
    kind = form.get("action", "")
    back = safe_next(form.get("back"))
    account = form.get("account") or None
    if kind not in ACTIONS:
        return state.message("Refused", f"Unknown action {kind!r}.", 400, signed_in=True)
    if kind == "undo":
        target = form.get("target", "")
        marks = await run_in_threadpool(_marks_of, state, user)
        if target not in marks.actions:
            return _not_found(state)
        account = marks.actions[target][1]
    if not user.can_see(account):
        return _not_found(state)
    try:
        until = date.fromisoformat(form["until"]) if form.get("until") else None
        action = new_action(
            kind, user.name, account_id=account, signal_id=form.get("signal") or None, ask_id=form.get("ask") or None,
            until=until, reason_code=form.get("reason_code") or None, note=form.get("note") or None,
            target=form.get("target") or None, source="web",
        )
    except (ValueError, TriageError) as e:
        return state.message("Refused", f"{e}", 400, signed_in=True)
    was = await run_in_threadpool(_rank, state, account)
    done = await run_in_threadpool(application.record, state.settings, state.db, action,
                                   wait_seconds=state.cfg.db_wait_seconds)
    if done.rejected:
        return state.message("Not applied", done.rejected, 409, signed_in=True)
    path, _, anchor = back.partition("#")
    sep = "&" if "?" in path else "?"
    extra = f"did={action.action_id}" + (f"&was={was}" if was else "") if done.applied else "queued=1"
    log.info("%s by %s on %s: %s", kind, user.key, account, "applied" if done.applied else "queued")
    return _redirect(f"{path}{sep}{extra}" + (f"#{anchor}" if anchor else ""))


def _marks_of(state: WebApp, user: User) -> Marks:
    """The user's actions (to check an undo is theirs to undo); while the file is held, as last read."""
    try:
        return load_marks(state.db, None if user.manager else user.accounts)
    except DatabaseLockedError:
        pages = [p for (who, _), p in state.last_pages() if who == user.key]
        merged = Marks()
        for p in pages:
            merged.actions.update(p.marks.actions)
        return merged


def _rank(state: WebApp, account: str | None) -> int | None:
    try:
        with state.db.read() as con:
            row = con.execute("SELECT rank FROM v_call_list_today WHERE account_id = ?", [account]).fetchone()
    except DatabaseLockedError:
        return None
    return int(row[0]) if row else None
