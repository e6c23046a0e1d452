"""Signed, expiring sign-in links to the web app, and the session and CSRF tokens made from the same secret.

A link carries the AM, a random link id and an expiry, signed with HMAC over ``[serve]``'s secret
(itsdangerous). ``triage link`` prints one; the digest and the same-day alerts carry one per AM
(:func:`link_maker`). The web app (:mod:`triage.web`) reads them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

from triage.errors import TriageError
from triage.log import get_logger
from triage.settings import Settings

__all__ = ["Claims", "LinkError", "LinkMaker", "Signer", "link_maker"]

log = get_logger("app.links")

#: (AM's e-mail or name, page to open after signing in) -> the sign-in URL
LinkMaker = Callable[[str, str | None], str]


class LinkError(TriageError):
    """A sign-in link or cookie that is not valid: ``kind`` is forged | expired | signed_out | unknown_user."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Claims:
    """What a link or a session says: who, which link, until when (epoch seconds)."""

    user: str
    link_id: str
    expires: float
    session_id: str = ""


class Signer:
    """Signs and reads links, session cookies and CSRF tokens with the server secret."""

    def __init__(self, secret: str) -> None:
        self._links = URLSafeSerializer(secret, salt="triage.link")
        self._sessions = URLSafeSerializer(secret, salt="triage.session")
        self._csrf = hashlib.sha256(b"triage.csrf\x00" + secret.encode()).digest()

    def link(self, user: str, ttl_seconds: float, *, now: float | None = None) -> tuple[str, Claims]:
        claims = Claims(user.strip().lower(), secrets.token_urlsafe(12), (now or time.time()) + ttl_seconds)
        token = self._links.dumps({"u": claims.user, "l": claims.link_id, "x": round(claims.expires, 3)})
        return str(token), claims

    def _read(self, serializer: URLSafeSerializer, token: str, what: str) -> dict[str, object]:
        try:
            data = serializer.loads(token)
        except BadSignature:
            raise LinkError("forged", f"this {what} is not one of ours (changed or copied wrongly)") from None
        if not isinstance(data, dict):
            raise LinkError("forged", f"this {what} is not one of ours")
        return data

    def read_link(self, token: str, *, now: float | None = None) -> Claims:
        data = self._read(self._links, token, "sign-in link")
        claims = Claims(str(data["u"]), str(data["l"]), float(data["x"]))  # type: ignore[arg-type]
        if claims.expires < (now or time.time()):
            raise LinkError("expired", "this sign-in link has expired")
        return claims

    def session(self, claims: Claims) -> str:
        sid = secrets.token_urlsafe(12)
        return str(self._sessions.dumps({"u": claims.user, "l": claims.link_id, "x": claims.expires, "s": sid}))

    def read_session(self, cookie: str, *, now: float | None = None) -> Claims | None:
        try:
            data = self._read(self._sessions, cookie, "session")
        except LinkError:
            return None
        claims = Claims(str(data["u"]), str(data["l"]), float(data["x"]), str(data["s"]))  # type: ignore[arg-type]
        return claims if claims.expires >= (now or time.time()) else None

    def csrf(self, bound_to: str) -> str:
        """The form token of a session (or of a proxy-signed-in user): an HMAC only the server can make."""
        return hmac.new(self._csrf, bound_to.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, bound_to: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(bound_to), token or "")


def link_maker(settings: Settings, ttl_hours: float | None = None) -> LinkMaker | None:
    """Sign-in links for mails (digest, alerts), one token per AM; None when the web app's secret is not
    set in this environment (the mails then go without a link)."""
    cfg = settings.serve
    if not os.environ.get(cfg.secret_env):
        log.info("no sign-in links in mails: %s is not set", cfg.secret_env)
        return None
    signer = Signer(cfg.secret().get_secret_value())
    seconds = (ttl_hours or cfg.digest_link_ttl_hours) * 3600
    tokens: dict[str, str] = {}

    def make(am: str, next_path: str | None = None) -> str:
        key = am.strip().lower()
        if key not in tokens:
            tokens[key] = signer.link(key, seconds)[0]
        query = {"t": tokens[key], **({"next": next_path} if next_path else {})}
        return f"{cfg.base_url}/login?{urlencode(query)}"

    return make
