"""Never lose a click, never block a run (issue 20): while a flow holds the database, the web app shows the
list it read last and queues clicks durably; each is applied exactly once as soon as the file is free,
by the server, or by the next flow or command. With a real running flow, and with the file held on purpose."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.support.flowrun import home_config, night_copy, sample_night
from tests.support.privacy import REPO, cli_env
from tests.support.web import Server, serve

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
KEY_ENV = "TRIAGE_TEST_DB_KEY"


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_night(tmp_path_factory.mktemp("queue-night"), AS_OF)


@pytest.fixture
def home(night: Path, tmp_path: Path) -> Path:
    return night_copy(night, tmp_path / "home", "[serve]\ndb_wait_seconds = 0.5\n")


@pytest.fixture
def server(home: Path) -> Iterator[Server]:
    with serve(home / "config.toml", home) as s:
        yield s


def _client(server: Server) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=60)
    assert client.get(server.link("Luis Romero").removeprefix(server.url)).status_code == 303
    page = client.get("/")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token
    return client, token.group(1)


def _signal(page: str, account: str, action: str = "dismiss") -> str:
    card = page[page.index(f'id="account-{account}"'):]
    card = card[: card.index("</article>")]
    return re.findall(r'name="(?:signal|ask)" value="([0-9a-f]+)"', card.split(f'value="{action}"', 1)[1])[0]


def _hold(db: Path, seconds: float, key_env: str | None = None, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    """Another process holding the database read-write (as a flow's write phase does), for ``seconds``."""
    code = (
        "import sys, time\n"
        "from triage.db import Database\n"
        f"db = Database({str(db)!r}, encryption_key_env={key_env!r})\n"
        "with db.write() as con:\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def _feedback(home: Path) -> list[tuple[Any, ...]]:
    for _ in range(100):
        try:
            con = duckdb.connect(str(home / "db" / "triage.duckdb"), read_only=True)
            break
        except duckdb.IOException:
            time.sleep(0.1)
    try:
        sql = "SELECT feedback_id, action, account_id, reason FROM feedback ORDER BY created_at"
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _queued(home: Path) -> int:
    import sqlite3

    path = home / "db" / "triage.duckdb.actions"
    if not path.exists():
        return 0
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM actions").fetchone()[0])
    finally:
        con.close()


def _until_off_the_list(client: httpx.Client, account: str) -> None:
    """The list without ``account``: the queue is empty once the click is applied; the list is built again
    right after (a page read in between still shows the list before)."""
    deadline = time.monotonic() + 30
    while f'data-account="{account}"' in client.get("/").text:
        assert time.monotonic() < deadline, f"{account} still on the list 30 s after its click was applied"
        time.sleep(0.5)


def test_while_the_file_is_held_pages_come_from_the_last_read_and_clicks_wait(server: Server, home: Path) -> None:
    client, csrf = _client(server)
    page = client.get("/").text
    holder = _hold(home / "db" / "triage.duckdb", 12)
    try:
        t = time.monotonic()
        r = client.get("/")
        assert r.status_code == 200 and time.monotonic() - t < 5  # no waiting for the flow
        assert "The list is being updated" in r.text and 'data-account="harbor"' in r.text
        clicked = client.post("/actions", data={"csrf": csrf, "action": "done", "account": "harbor",
                                                "note": "called Noah", "back": "/"})
        assert clicked.status_code == 303 and "queued=1" in clicked.headers["location"]
        assert "your action waits in the queue" in client.get(clicked.headers["location"]).text
        sid = _signal(page, "fjord")
        client.post("/actions", data={"csrf": csrf, "action": "dismiss", "account": "fjord", "signal": sid,
                                      "reason_code": "already_handled", "back": "/"})
        assert _queued(home) == 2
    finally:
        holder.wait(timeout=60)
    deadline = time.monotonic() + 60  # the server's loop applies them once the file is free
    while time.monotonic() < deadline and _queued(home):
        time.sleep(0.5)
    rows = _feedback(home)
    assert sorted((a, acc) for _, a, acc, _ in rows) == [("dismiss", "fjord"), ("done", "harbor")]
    assert _queued(home) == 0
    _until_off_the_list(client, "harbor")  # done: off the list, the list re-ranked


def test_a_click_queued_when_the_server_stops_is_applied_by_the_next_run(home: Path) -> None:
    with serve(home / "config.toml", home) as s:
        client, csrf = _client(s)
        holder = _hold(home / "db" / "triage.duckdb", 6)
        try:
            r = client.post("/actions", data={"csrf": csrf, "action": "snooze", "account": "blueriver",
                                              "until": "2026-12-31", "back": "/"})
            assert "queued=1" in r.headers["location"]
        finally:
            s.stop()  # the server goes before the file is free
            holder.wait(timeout=60)
    assert _queued(home) == 1 and _feedback(home) == []
    run = subprocess.run([sys.executable, "-m", "triage", "--config", str(home / "config.toml"), "run",
                          "--as-of", "2026-11-20", "--no-list"], env=s.env, cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert [(a, acc) for _, a, acc, _ in _feedback(home)] == [("snooze", "blueriver")]
    assert _queued(home) == 0


def test_clicks_during_a_real_running_flow_are_all_applied_once(home: Path, shared_data: Path) -> None:
    # a night with real work to do: an Enron mailbox besides the sample (a minute or two on 2 cores)
    shutil.copytree(shared_data / "enron-maildir" / "arnold-j", home / "mail" / "enron")
    with serve(home / "config.toml", home) as s:
        client, csrf = _client(s)
        page = client.get("/").text
        targets = [("done", {"account": "harbor", "note": f"call {i}"}) for i in range(3)]
        targets += [("confirm", {"account": "blueriver", "signal": _signal(page, "blueriver", "confirm")}),
                    ("dismiss", {"account": "fjord", "signal": _signal(page, "fjord"), "reason_code": "wrong_kind"}),
                    ("snooze", {"account": "harbor", "until": "2026-12-31"})]
        flow = subprocess.Popen([sys.executable, "-m", "triage", "--config", str(home / "config.toml"), "run",
                                 "--as-of", "2026-11-20", "--no-list"], env=s.env, cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        queued = applied = 0
        try:
            time.sleep(3)
            for action, fields in targets:
                assert flow.poll() is None, "the flow ended before the clicks"
                r = client.post("/actions", data={"csrf": csrf, "action": action, "back": "/", **fields})
                assert r.status_code == 303, r.text
                queued += "queued=1" in r.headers["location"]
                applied += "did=" in r.headers["location"]
                time.sleep(2)
        finally:
            _, err = flow.communicate(timeout=1800)
        assert flow.returncode == 0, err
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _queued(home):
            time.sleep(0.5)
    rows = _feedback(home)
    assert len(rows) == len(targets) == queued + applied
    assert len({r[0] for r in rows}) == len(rows)  # each applied once
    assert sorted(r[3] for r in rows if r[1] == "done") == ["call 0", "call 1", "call 2"]
    assert _queued(home) == 0
    print(f"clicks during the run: {applied} applied at once, {queued} queued and applied afterwards")


def test_an_encrypted_database_works_the_same_and_its_queue_is_sealed(home: Path) -> None:
    key = secrets.token_urlsafe(32)
    cfg = home_config(home, "[serve]\ndb_wait_seconds = 0.5\n", key_env=KEY_ENV)
    env = {KEY_ENV: key}
    enc = subprocess.run([sys.executable, "-m", "triage", "--config", str(cfg), "db", "encrypt"],
                         env={**cli_env(None), **env}, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert enc.returncode == 0, enc.stderr
    with serve(cfg, home, env) as s:
        client, csrf = _client(s)
        holder = _hold(home / "db" / "triage.duckdb", 6, KEY_ENV, s.env)
        try:
            r = client.post("/actions", data={"csrf": csrf, "action": "done", "account": "harbor",
                                              "note": "Noah Fischer wants the SOC 2 report", "back": "/"})
            assert "queued=1" in r.headers["location"]
            queue = (home / "db" / "triage.duckdb.actions").read_bytes()
            wal = home / "db" / "triage.duckdb.actions-wal"
            queue += wal.read_bytes() if wal.exists() else b""
            assert b"SOC 2" not in queue and b"Noah" not in queue and b"harbor" not in queue
        finally:
            holder.wait(timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _queued(home):
            time.sleep(0.5)
        assert _queued(home) == 0
        _until_off_the_list(client, "harbor")
    data = b"".join(p.read_bytes() for p in (home / "db").iterdir() if p.is_file())
    assert b"SOC 2 report" not in data and key.encode() not in data
