"""A real Dovecot IMAP server on loopback for the ingest tests and the IMAP benchmark.

``DovecotServer`` drives scripts/dovecot/start.sh and stop.sh in a base dir whose parents are all o+x
(Dovecot's unprivileged processes must traverse it). Each test gets a fresh user (fresh mailboxes),
so tests are isolated while the server starts once per session.

Fixtures (import ``dovecot_fixture, imap_user_fixture`` explicitly in a test module):
    dovecot      session: the running server
    imap_user    a new user with its password in an environment variable

OAuth2: ``TokenIntrospection`` is a real token-introspection HTTP endpoint on loopback; a server made
with ``DovecotServer(base, oauth2_introspection_url=...)`` also offers XOAUTH2 / OAUTHBEARER and asks
that endpoint about every token (password logins keep working). ``oauth2_dovecot_fixture`` and
``token_introspection_fixture`` provide both (import them explicitly too).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import psutil
import pytest
from imapclient import IMAPClient

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "dovecot"
ENRON_DEV_CUSTODIANS = ("allen-p", "arnold-j", "arora-h")
ENRON_SENT_FOLDERS = ("sent", "_sent_mail", "sent_items")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ImapUser:
    name: str
    password: str
    password_env: str


class DovecotServer:
    """One Dovecot instance (plain+STARTTLS port and implicit-TLS port) rooted at ``base``."""

    def __init__(
        self,
        base: Path,
        *,
        imap_port: int | None = None,
        imaps_port: int | None = None,
        pool_size: int = 64,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.base = base
        self.oauth2_introspection_url = oauth2_introspection_url
        self.imap_port = imap_port or free_port()
        self.imaps_port = imaps_port or free_port()
        self.admin = ImapUser("admin", "admin-" + uuid.uuid4().hex[:12], "")
        # Dovecot notices a changed passwd-file only after a few seconds, so users are created
        # before the server starts and handed out one per test
        self._pool: list[ImapUser] = []
        self._pool_size = pool_size

    @property
    def ca_file(self) -> Path:
        return self.base / "ssl" / "cert.pem"

    @property
    def users_file(self) -> Path:
        return self.base / "users"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            IMAP_PORT=str(self.imap_port),
            IMAPS_PORT=str(self.imaps_port),
            IMAP_USER=self.admin.name,
            IMAP_PASS=self.admin.password,
        )
        env.pop("OAUTH2_INTROSPECTION_URL", None)
        if self.oauth2_introspection_url:
            env["OAUTH2_INTROSPECTION_URL"] = self.oauth2_introspection_url
        return env

    def start(self) -> None:
        if not self.users_file.exists():
            self.base.mkdir(parents=True, exist_ok=True)
            self._pool = [self._new_user() for _ in range(self._pool_size)]
            self.users_file.write_text("".join(self._line(u) for u in self._pool), encoding="utf-8")
        out = subprocess.run(
            [str(SCRIPTS / "start.sh"), str(self.base)],
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if out.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {out.stderr}\n{self.log_tail()}")

    def _processes(self) -> list[psutil.Process]:
        """The master and every process it started (collected by PID before anything is stopped)."""
        try:
            master = psutil.Process(int((self.base / "run" / "master.pid").read_text().strip()))
            return [master, *master.children(recursive=True)]
        except (OSError, ValueError, psutil.Error):
            return []

    def stop(self) -> None:
        """Stop the server and every session it serves (``doveadm stop`` lets open sessions go on)."""
        procs = self._processes()
        subprocess.run(
            [str(SCRIPTS / "stop.sh"), str(self.base)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self._reap(procs)

    def kill(self) -> None:
        """Crash the server: SIGKILL the master and all its processes, open sessions included."""
        self._reap(self._processes())

    @staticmethod
    def _reap(procs: list[psutil.Process]) -> None:
        alive = []
        for p in procs:
            try:
                p.kill()
                alive.append(p)
            except psutil.Error:
                continue
        psutil.wait_procs(alive, timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        pid_file = self.base / "run" / "master.pid"
        if not pid_file.is_file():
            return False
        try:
            os.kill(int(pid_file.read_text().strip()), 0)
        except (OSError, ValueError):
            return False
        return True

    def log_tail(self, n: int = 30) -> str:
        log = self.base / "log" / "dovecot.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:]) if log.is_file() else ""

    @staticmethod
    def _new_user() -> ImapUser:
        name = f"u{uuid.uuid4().hex[:10]}"
        return ImapUser(name, f"pw-{uuid.uuid4().hex}", f"TRIAGE_TEST_IMAP_PW_{name.upper()}")

    @staticmethod
    def _line(user: ImapUser) -> str:
        return f"{user.name}:{{PLAIN}}{user.password}::::::\n"

    def add_user(self) -> ImapUser:
        """A user nobody used yet (fresh, empty mailboxes)."""
        if self._pool:
            return self._pool.pop()
        user = self._new_user()  # pool exhausted: add one and wait until Dovecot sees it
        with self.users_file.open("a", encoding="utf-8") as fh:
            fh.write(self._line(user))
        deadline = time.monotonic() + 30
        while True:
            try:
                with self.client(user):
                    return user
            except IMAPClient.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    @contextmanager
    def client(self, user: ImapUser) -> Iterator[IMAPClient]:
        """A logged-in admin-side client over verified implicit TLS (for setting up and checking)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        c = IMAPClient("127.0.0.1", self.imaps_port, ssl=True, ssl_context=ctx, timeout=30)
        try:
            c.login(user.name, user.password)
            yield c
        finally:
            try:
                c.logout()
            except (OSError, IMAPClient.Error):
                c.shutdown()

    def create_folder(self, user: ImapUser, folder: str) -> None:
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)

    def delete_folder(self, user: ImapUser, folder: str) -> None:
        with self.client(user) as c:
            c.delete_folder(folder)

    def append(
        self,
        user: ImapUser,
        folder: str,
        messages: Iterable[bytes],
        flags: Sequence[bytes] = (),
        batch: int = 100,
    ) -> int:
        """APPEND messages with MULTIAPPEND batches (creating the folder if needed); return the count."""
        n = 0
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            chunk: list[dict[str, Any]] = []
            for raw in messages:
                chunk.append({"msg": raw, "flags": list(flags)} if flags else {"msg": raw})
                if len(chunk) >= batch:
                    n += _multiappend(c, folder, chunk)
                    chunk = []
            if chunk:
                n += _multiappend(c, folder, chunk)
        return n

    def flags(self, user: ImapUser, folder: str) -> dict[int, tuple[bytes, ...]]:
        """FLAGS of every message in a folder (read-only select, so checking changes nothing)."""
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            return {int(uid): tuple(d[b"FLAGS"]) for uid, d in c.fetch(uids, [b"FLAGS"]).items()}

    def uidvalidity(self, user: ImapUser, folder: str) -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def source_toml(self, user: ImapUser, *, name: str = "imap", security: str = "tls", **extra: Any) -> str:
        """A ``[[sources.imap]]`` block for this server and user (TOML values from ``extra``)."""
        port = self.imaps_port if security == "tls" else self.imap_port
        lines = [
            "[[sources.imap]]",
            f'name = "{name}"',
            'host = "127.0.0.1"',
            f"port = {port}",
            f'security = "{security}"',
            f'username = "{user.name}"',
            f'password_env = "{user.password_env}"',
            f'ca_file = "{self.ca_file}"',
        ]
        for key, value in extra.items():
            lines.append(f"{key} = {_toml(value)}")
        return "\n".join(lines) + "\n"


class TokenIntrospection:
    """A real OAuth2 token-introspection endpoint (RFC 7662 style) over HTTP on loopback.

    Dovecot's oauth2 passdb POSTs ``token=<token>``; the answer is ``{"active": true, "username": ...}``
    for a token issued with :meth:`issue` and not revoked, ``{"active": false}`` for anything else.
    ``asked`` lists every token the endpoint was asked about (to prove Dovecot really asked).
    """

    PATH: ClassVar[str] = "/oauth2/introspect"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self.asked: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="token-introspection", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.PATH}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def issue(self, user: ImapUser) -> str:
        """A new valid access token for ``user``."""
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = user.name
        return token

    def revoke(self, token: str) -> None:
        """From now on the token is inactive (expired or revoked)."""
        with self._lock:
            self._tokens.pop(token, None)

    def _answer(self, token: str) -> dict[str, Any]:
        with self._lock:
            self.asked.append(token)
            user = self._tokens.get(token)
        return {"active": True, "username": user} if user else {"active": False}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path != endpoint.PATH:
                    self._reply(404, {"error": "not found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode("ascii", "replace"))
                self._reply(200, endpoint._answer(form.get("token", [""])[0]))

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the request line carries no secret, but keep test output clean

        return Handler


def _multiappend(client: IMAPClient, folder: str, chunk: list[dict[str, Any]]) -> int:
    typ, data = client.multiappend(folder, chunk)
    if typ != "OK":  # e.g. Dovecot refuses zero-byte messages, and with them the whole batch
        raise RuntimeError(f"APPEND to {folder} refused: {data!r}")
    return len(chunk)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if value is None:
        raise ValueError("TOML has no null")
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def enron_dev_files(shared_data: Path) -> list[tuple[str, str, Path]]:
    """(custodian, folder, path) of every dev Enron file (never the held-out custodian badeer-r)."""
    root = shared_data / "enron-maildir"
    out = []
    for custodian in ENRON_DEV_CUSTODIANS:
        for p in sorted((root / custodian).rglob("*")):
            if p.is_file():
                out.append((custodian, p.parent.relative_to(root / custodian).as_posix(), p))
    return out


def is_enron_sent(folder: str) -> bool:
    return any(part in ENRON_SENT_FOLDERS for part in folder.split("/"))


@pytest.fixture(scope="session", name="dovecot")
def dovecot_fixture(world_readable_tmp: Path) -> Iterator[DovecotServer]:
    # one server per test module that imports the fixture (each gets its own FixtureDef): own dir, own ports
    base = Path(tempfile.mkdtemp(prefix="dovecot-", dir=world_readable_tmp))
    base.chmod(0o755)
    server = DovecotServer(base)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", name="token_introspection")
def token_introspection_fixture() -> Iterator[TokenIntrospection]:
    endpoint = TokenIntrospection()
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture(scope="session", name="oauth2_dovecot")
def oauth2_dovecot_fixture(
    world_readable_tmp: Path, token_introspection: TokenIntrospection
) -> Iterator[DovecotServer]:
    """A server (own dir and ports) that also accepts XOAUTH2 / OAUTHBEARER tokens from ``token_introspection``."""
    base = Path(tempfile.mkdtemp(prefix="dovecot-oauth2-", dir=world_readable_tmp))
    base.chmod(0o755)
    server = DovecotServer(base, pool_size=16, oauth2_introspection_url=token_introspection.url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(name="imap_user")
def imap_user_fixture(dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> ImapUser:
    """A fresh user for one test; its password is in the environment variable it names."""
    if not dovecot.is_running():  # a previous test stopped it and failed before restarting
        dovecot.start()
    user = dovecot.add_user()
    monkeypatch.setenv(user.password_env, user.password)
    return user
