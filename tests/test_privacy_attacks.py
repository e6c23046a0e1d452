"""Privacy hardening (issue 21): each attack of the auditors' table, generated here and re-run.

One real nightly run of the bundled sample (its mail and transcripts copied, so a test can add to
them) is shared; every test works on its own copy of that night: database, pages and folders. The
checks grep every byte below the test's folder (the database file and its WAL, the pages, Prefect's
home with its database and result storage, base64 decoded too) for the key and for her address and
words, as an auditor would.
"""

from __future__ import annotations

import base64
import pickle
import quopri
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.support.flowrun import home_config, night_copy, sample_night
from tests.support.privacy import HER_WORDS, OTHERS_WORDS, PRIYA, REPO, cli_env, leftovers, new_key
from triage.app.runs import clean_failure
from triage.errors import DatabaseError, RunFailedError

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
TOM = "tom.becker@acme-logistics.example"


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's night as of 2026-11-20: database, the all-accounts page and Luis's page."""
    home = sample_night(tmp_path_factory.mktemp("night"), AS_OF)
    assert _cli(home, "html", "--am", "Luis Romero").returncode == 0
    return home


@pytest.fixture
def home(night: Path, tmp_path: Path) -> Path:
    """This test's own copy of the night (Prefect's home of its CLI runs inside it)."""
    return night_copy(night, tmp_path / "home")


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = cli_env(None)
    env["PREFECT_HOME"] = str(home / "prefect")
    env.update(extra or {})
    return env


def _cli(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "triage", "--config", str(home / "config.toml"), *args],
                          env=env or _env(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _killed_at(home: Path, target: str, nth: int, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI run with ``target`` armed to SIGKILL the process on its nth call (tests/support/killpoint.py)."""
    cmd = [sys.executable, "-m", "tests.support.killpoint", target, str(nth), "--",
           "--config", str(home / "config.toml"), *args]
    return subprocess.run(cmd, env=_env(home), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def _rows(home: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(home / "db" / "triage.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _her_bytes(home: Path) -> list[tuple[str, str]]:
    return leftovers([home / "db", home / "pages", home / "prefect"], [PRIYA, "Priya Shah", *HER_WORDS])


def _mail(home: Path, sender: str, subject: str, body: str, *, cte: str = "base64", html: bool = False) -> Path:
    """A new client mail dropped into the Maildir's new/ folder, with the body in ``cte``."""
    raw = "\r\n".join([
        f"From: {sender}",
        "To: Dana Whitfield <dana.whitfield@northwind.example>",
        f"Subject: {subject}",
        f"Date: {format_datetime(datetime(2026, 11, 19, 15, 0, tzinfo=UTC))}",
        f"Message-ID: {make_msgid(domain=sender.rsplit('@', 1)[-1].rstrip('>'))}",
        "MIME-Version: 1.0",
        f"Content-Type: text/{'html' if html else 'plain'}; charset=utf-8",
        f"Content-Transfer-Encoding: {cte}",
        "",
        "",
    ]).encode()
    data = body.encode("utf-8")
    raw += base64.encodebytes(data) if cte == "base64" else quopri.encodestring(data)
    path = home / "mail" / "INBOX" / "new" / f"{time.time_ns()}.M1P1.attack.example"
    path.write_bytes(raw)
    return path


# ---- a key never reaches text -----------------------------------------------------------------

@pytest.mark.parametrize(("case", "key", "command", "expected"), [
    ("non-ASCII key, new file, run", "pässwörd-LEAKME77-secret", "run",
     "has characters DuckDB cannot take"),
    ("non-ASCII key, new file, migrate", "pässwörd-LEAKME77-secret", "migrate",
     "has characters DuckDB cannot take"),
    ("a key of 20 spaces, db encrypt", " " * 20, "db encrypt", "holds only white space"),
    ("a control character in the key", "LEAKME77-secret-key\x07!!", "migrate", "has characters DuckDB cannot take"),
])
def test_a_bad_key_is_refused_without_being_shown_or_kept(
    case: str, key: str, command: str, expected: str, tmp_path: Path
) -> None:
    home = tmp_path
    (home / "prefect").mkdir()
    (home / "mail" / "INBOX" / "cur").mkdir(parents=True)
    (home / "transcripts").mkdir()
    home_config(home, key_env="K")
    out = _cli(home, *command.split(), env=_env(home, {"K": key}))
    assert out.returncode == 2, (case, out.stderr)
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], (case, out.stderr)
    assert "Traceback" not in out.stderr
    if key.strip():
        assert key not in out.stdout + out.stderr and "LEAKME77" not in out.stdout + out.stderr
        assert leftovers([home], [key, "LEAKME77"]) == [], case
    assert not (home / "db" / "triage.duckdb").exists() or command == "db encrypt"


def test_a_wrong_key_on_a_run_leaves_no_key_in_prefect(home: Path) -> None:
    key, wrong = new_key(), new_key()
    env = _env(home, {"K": key})
    home_config(home, key_env="K")
    assert _cli(home, "db", "encrypt", env=env).returncode == 0
    out = _cli(home, "run", "--as-of", "2026-11-20", env=_env(home, {"K": wrong}))
    assert out.returncode == 2 and "wrong encryption key" in out.stderr and out.stderr.count("\n") == 1
    assert list((home / "prefect").rglob("prefect.db"))  # the flow ran and Prefect recorded it
    assert leftovers([home], [key, wrong]) == []


def test_prefect_keeps_no_client_text_of_a_run(home: Path) -> None:
    """A whole nightly run by the CLI: Prefect's database, logs and result storage hold none of the
    mail's words (task results and failures are not persisted; tracebacks stay on the terminal)."""
    (home / "db" / "triage.duckdb").unlink()
    out = _cli(home, "-v", "run", "--as-of", "2026-11-20", "--no-list")
    assert out.returncode == 0, out.stderr
    assert list((home / "prefect").rglob("prefect.db"))
    assert leftovers([home / "prefect"], [PRIYA, *HER_WORDS, *OTHERS_WORDS, "SOC 2 Type II"]) == []


def _failed_with(stage: str, make: Any) -> BaseException:
    """What the flow raises to Prefect when ``make`` fails (the flows' own pattern: raised outside ``except``)."""
    try:
        make()
    except BaseException as e:
        failure = clean_failure(stage, e)
    try:
        raise failure
    except BaseException as raised:
        return raised


def test_an_unexpected_error_is_kept_by_prefect_as_its_type_only() -> None:
    import tblib.pickling_support  # as Dask installs it in the same process: pickles keep the chain

    tblib.pickling_support.install()
    line = "Honestly, this is unacceptable (a line of client mail)"

    def decode() -> None:
        raise UnicodeDecodeError("utf-8", line.encode(), 0, 1, "invalid start byte")

    err = _failed_with("detect", decode)
    assert isinstance(err, RunFailedError)
    assert str(err) == "the run failed in its detect stage: UnicodeDecodeError (`-vv` shows the traceback)"
    assert err.__cause__ is None and err.__context__ is None
    assert b"unacceptable" not in pickle.dumps(err)  # what Prefect's result storage would keep

    def ours() -> None:
        try:
            raise ValueError("Invalid Input Error: ... conversion of string 'pässwörd-LEAKME77'")
        except ValueError as e:
            raise DatabaseError("the file could not be opened") from e

    err = _failed_with("parse", ours)
    assert isinstance(err, DatabaseError) and b"LEAKME77" not in pickle.dumps(err)


# ---- an erasure that always completes -------------------------------------------------------------

#: every step of an erasure after its deletes committed, in order: (function entered, its nth call)
FORGET_KILLS = [
    ("triage.parse.messages:rebuild", 1),              # threads rebuilt
    ("triage.score:build_call_list", 1),               # the lists that quoted her built again
    ("triage.publish:rewrite_pages", 1),               # the pages
    ("triage.app.privacy:rewrite_database", 1),        # before the file is copied
    ("triage.db.encrypt:_counts", 2),                  # the copy made, being verified
    ("triage.db.encrypt:_fsync_dir", 1),               # the new file swapped in, the old one not scrubbed
    ("triage.db.encrypt:_scrub", 1),
    ("triage.privacy.jobs:mark_finished", 1),          # all done but the mark
]
#: any later command finishes what the killed one left
LATER = [("list",), ("forget", PRIYA), ("run", "--as-of", "2026-11-20", "--no-list"), ("migrate",),
         ("account", "acme"), ("html",), ("forget", PRIYA), ("list", "--json")]


@pytest.mark.parametrize(("kill", "later"), list(zip(FORGET_KILLS, LATER, strict=True)),
                         ids=[k[0].split(":")[1] for k in FORGET_KILLS])
def test_forget_killed_at_any_step_then_any_command_leaves_nothing(
    home: Path, kill: tuple[str, int], later: tuple[str, ...]
) -> None:
    assert _her_bytes(home)  # the probes find her before
    killed = _killed_at(home, kill[0], kill[1], "forget", PRIYA)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after = _cli(home, *later)
    assert after.returncode == 0, after.stderr
    assert _her_bytes(home) == []
    assert _rows(home, "SELECT count(*) FROM privacy_jobs WHERE finished_at IS NULL") == [(0,)]
    kept = leftovers([home / "db"], OTHERS_WORDS)
    assert len(kept) >= len(OTHERS_WORDS)  # others' words stay


def test_forget_killed_at_random_moments(home: Path) -> None:
    """kill -9 from outside, at moments spread over the erasure's own run time: the erasure either never
    happened (killed before its transaction committed: no audit row, all her rows still there, and a
    new `forget` erases her) or, whatever the next command is, it leaves no byte of her."""
    control = home.parent / "control"
    shutil.copytree(home, control)
    home_config(control)
    start = time.monotonic()
    assert _cli(control, "forget", PRIYA).returncode == 0
    span = time.monotonic() - start
    hers = "SELECT count(*) FROM messages WHERE from_addr = ?"
    mine = _rows(home, hers, [PRIYA])[0][0]
    committed = 0
    work = home.parent / "work"
    for i, frac in enumerate((0.2, 0.45, 0.6, 0.75, 0.9, 1.0)):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(home, work)
        home_config(work)
        proc = subprocess.Popen([sys.executable, "-m", "triage", "--config", str(work / "config.toml"),
                                 "forget", PRIYA], env=_env(work), cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(span * frac)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert _cli(work, *LATER[i]).returncode == 0
        if _rows(work, "SELECT count(*) FROM erasures") == [(0,)]:  # killed before its commit
            assert _rows(work, hers, [PRIYA]) == [(mine,)]
            assert _cli(work, "forget", PRIYA).returncode == 0
        else:
            committed += 1
        assert _her_bytes(work) == [], (frac, LATER[i])
    assert committed >= 2  # the moments after the commit, the ones that matter, were hit


def test_forget_again_checks_the_file_bytes_not_only_the_rows(home: Path) -> None:
    """An erasure whose rewrite never happened and whose job row is gone too (an older version, a
    restored backup): the second `forget` finds no rows, reads the file's bytes, and rewrites it."""
    first = _killed_at(home, "triage.app.privacy:finish_privacy_jobs", 3, "forget", PRIYA)
    assert first.returncode == -signal.SIGKILL
    con = duckdb.connect(str(home / "db" / "triage.duckdb"))
    con.execute("DELETE FROM privacy_jobs")
    con.close()
    assert leftovers([home / "db"], [PRIYA])  # her rows are gone, her bytes are not
    again = _cli(home, "forget", PRIYA)
    assert again.returncode == 0, again.stderr
    assert "erased 0 rows" in again.stdout and "rewrote the database file" in again.stdout
    assert leftovers([home / "db"], [PRIYA, *HER_WORDS]) == []


PURGE_KILLS = [("triage.app.privacy:rewrite_database", 1), ("triage.db.encrypt:_counts", 2),
               ("triage.db.encrypt:_scrub", 1), ("triage.privacy.jobs:mark_finished", 1)]


def test_purge_killed_at_any_step_then_any_command_leaves_nothing(home: Path, tmp_path: Path) -> None:
    cfg = home / "config.toml"
    cfg.write_text(cfg.read_text() + "\n[retention]\nraw_days = 30\n")
    # what a purge that runs to its end removes from the bytes: the quoted and forwarded lines of old mail
    candidates = sorted({line.strip() for (body,) in _rows(
        home, "SELECT body_text FROM messages WHERE sent_at < TIMESTAMP '2026-10-21' AND body_text IS NOT NULL")
        for line in body.splitlines() if len(line.strip()) >= 30})
    control = tmp_path / "control"
    shutil.copytree(home, control)
    home_config(control, "[retention]\nraw_days = 30\n")
    before = {c for c in candidates if leftovers([control / "db"], [c])}
    assert _cli(control, "purge", "--as-of", "2026-11-20").returncode == 0
    gone = sorted(c for c in before if not leftovers([control / "db"], [c]))
    assert len(gone) >= 3, gone
    for target, nth in PURGE_KILLS:
        work = tmp_path / "work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(home, work)
        home_config(work, "[retention]\nraw_days = 30\n")
        killed = _killed_at(work, target, nth, "purge", "--as-of", "2026-11-20")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert _cli(work, "list").returncode == 0
        assert leftovers([work / "db"], gone) == [], target


# ---- suppression on what mail says ------------------------------------------------------------------

def test_after_forget_mail_that_quotes_her_in_any_encoding_is_not_stored(home: Path) -> None:
    assert _cli(home, "forget", PRIYA).returncode == 0
    quote = (f"Thanks, we are on it.\n\nOn Wed, Nov 18, 2026 Priya Shah <{PRIYA}> wrote:\n"
             "> We are now evaluating other vendors, and if this isn't resolved...\n")
    _mail(home, f"Tom Becker <{TOM}>", "Re: SSO outage (b64)", quote, cte="base64")
    _mail(home, f"Tom Becker <{TOM}>", "Re: SSO outage (qp)", quote.replace("Thanks", "Merci, thanks"),
          cte="quoted-printable")
    _mail(home, f"Tom Becker <{TOM}>", "Re: SSO outage (html)",
          "<p>Noted.</p><blockquote>From: Priya Shah &lt;priya.shah&#64;acme-logistics.example&gt;"
          "<br>Honestly, this is unacceptable</blockquote>", cte="base64", html=True)
    _mail(home, f"Tom Becker <{TOM}>", "Outlook style", "Hi Dana,\n\nFrom: Priya Shah\nSent: Monday\n"
          "Our security team hates the new login.\n", cte="base64")
    _mail(home, f"Tom Becker <{TOM}>", "Export question",
          "Hi Dana, can you send me the export spec for the new warehouse feed?", cte="base64")
    out = _cli(home, "run", "--as-of", "2026-11-20", "--no-list")
    assert out.returncode == 0, out.stderr
    subjects = {r[0] for r in _rows(home, "SELECT subject FROM messages WHERE from_addr = ?", [TOM])}
    assert "Export question" in subjects  # his own mail is read
    assert not subjects & {"Re: SSO outage (b64)", "Re: SSO outage (qp)", "Re: SSO outage (html)", "Outlook style"}
    assert _rows(home, "SELECT count(*) FROM raw_messages r JOIN message_locations l USING (message_key) "
                       "WHERE l.location LIKE '%attack.example%'") == [(1,)]
    assert _her_bytes(home) == []


def test_after_forget_account_mail_from_a_subdomain_is_not_stored(home: Path) -> None:
    assert _cli(home, "forget", "--account", "acme").returncode == 0
    _mail(home, "Lena Vogt <lena.vogt@eu.acme-logistics.example>", "EU rollout",
          "The EU team is angry about the outage, this is unacceptable.", cte="base64")
    _mail(home, "Kim Park <kim@cedarpine.example>", "Hello from Cedar", "Can you send the new price list?",
          cte="base64")
    out = _cli(home, "run", "--as-of", "2026-11-20", "--no-list")
    assert out.returncode == 0, out.stderr
    assert _rows(home, "SELECT count(*) FROM messages WHERE from_addr LIKE '%acme-logistics.example'") == [(0,)]
    assert _rows(home, "SELECT count(*) FROM messages WHERE subject = 'Hello from Cedar'") == [(1,)]
    assert leftovers([home / "db"], ["eu.acme-logistics.example", "The EU team is angry"]) == []


# ---- everything derived goes with her -------------------------------------------------------------------

def test_pages_notes_quarantine_and_logs_lose_her(home: Path) -> None:
    # her sentence in a transcript line that cannot be parsed; the AM's note names her
    (home / "transcripts" / "acme" / "2026-11-19-escalation.vtt").write_text(
        "WEBVTT\n\nPriya Shah: We are now evaluating other vendors, this is the third time\n\n"
        "00:00:05.000 --> 00:00:09.000\n<v Dana Whitfield>Understood.\n", encoding="utf-8")
    assert _cli(home, "run", "--as-of", "2026-11-20", "--no-list").returncode == 0
    assert _rows(home, "SELECT count(*) FROM quarantine WHERE detail LIKE '%evaluating other vendors%'") == [(1,)]
    assert _cli(home, "done", "acme", "--note", f"called {PRIYA}, Priya Shah agreed to wait").returncode == 0
    assert "Priya Shah" in (home / "pages" / "triage-today.html").read_text()
    page_luis = home / "pages" / "triage-today-luis-romero.html"
    assert page_luis.exists()
    out = _cli(home, "forget", PRIYA)
    assert out.returncode == 0, out.stderr
    assert "feedback notes" in out.stdout and "quarantine details" in out.stdout
    assert _her_bytes(home) == []
    assert _rows(home, "SELECT reason FROM feedback WHERE action = 'done'") == [
        ("called [erased], [erased] agreed to wait",)]
    assert _rows(home, "SELECT detail FROM quarantine WHERE location LIKE '%escalation.vtt'") == [("[erased]",)]
    assert page_luis.stat().st_mtime >= (home / "db" / "triage.duckdb").stat().st_mtime - 60


def test_forget_an_unknown_sender_rewrites_the_page_that_listed_him(home: Path) -> None:
    kevin, his_ask = "kevin.marsh@globex-partners.example", "Can someone from your team get back to me this week?"
    page = home / "pages" / "triage-today.html"
    assert kevin in page.read_text() and his_ask in page.read_text()
    assert _cli(home, "forget", kevin).returncode == 0
    assert leftovers([home / "db", home / "pages"], [kevin, his_ask]) == []


def test_retention_clears_quarantine_details_notes_and_logs(home: Path) -> None:
    (home / "transcripts" / "acme" / "2026-11-19-escalation.vtt").write_text(
        "WEBVTT\n\nWe are now evaluating other vendors, said the client\n", encoding="utf-8")
    assert _cli(home, "run", "--as-of", "2026-11-20", "--no-list").returncode == 0
    assert _cli(home, "done", "acme", "--note", "called Priya, it is about the SSO outage").returncode == 0
    with duckdb.connect(str(home / "db" / "triage.duckdb")) as con:
        con.execute("INSERT INTO alert_log VALUES ('s1', 'acme', 'dana@northwind.example', 'churn threat', "
                    "'<m1@x>', TIMESTAMPTZ '2026-11-19 10:00:00+00')")
    cfg = home / "config.toml"
    cfg.write_text(cfg.read_text() + "\n[retention]\nraw_days = 30\nderived_days = 97\n")
    assert _cli(home, "purge", "--as-of", "2027-06-01").returncode == 0
    assert _rows(home, "SELECT count(*) FROM quarantine WHERE detail IS NOT NULL") == [(0,)]
    assert _rows(home, "SELECT count(*) FROM feedback WHERE reason IS NOT NULL AND action = 'done'") == [(0,)]
    assert _rows(home, "SELECT count(*) FROM alert_log") == [(0,)]
    assert leftovers([home / "db"], ["evaluating other vendors, said", "it is about the SSO outage"]) == []


# ---- limits ---------------------------------------------------------------------------------------------

def test_a_transcript_of_25000_tiny_turns_is_quarantined(home: Path) -> None:
    cues = "".join(f"{i}\n00:{i // 6000:02d}:{(i // 100) % 60:02d},{(i % 100) * 10:03d} --> "
                   f"00:{i // 6000:02d}:{(i // 100) % 60:02d},{(i % 100) * 10 + 5:03d}\nTom Becker: ok {i}\n\n"
                   for i in range(25_000))
    (home / "transcripts" / "acme" / "2026-11-19-flood.srt").write_text(cues, encoding="utf-8")
    before = _rows(home, "SELECT count(*) FROM utterances")
    t = time.monotonic()
    out = _cli(home, "run", "--as-of", "2026-11-20", "--no-list")
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - t < 120
    assert _rows(home, "SELECT reason FROM quarantine WHERE location LIKE '%flood.srt'") == [("too_many_turns",)]
    assert _rows(home, "SELECT count(*) FROM utterances") == before


def test_rewrite_encrypts_what_it_spills() -> None:
    """`db encrypt` and every compaction copy through a connection that encrypts its temp files."""
    from triage.db.encrypt import crypto_connection

    con = crypto_connection(encrypted=True)
    try:
        assert con.execute("SELECT current_setting('temp_file_encryption')").fetchone() == (True,)
    finally:
        con.close()
