"""Encryption at rest (issue 16): DuckDB's AES-GCM through every connection, `triage db encrypt`,
one `Error:` line for a missing or wrong key, and a real `triage run` whose file holds no client text."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.support.flowrun import sample_config
from tests.support.privacy import KEY_ENV, cli_env, new_key, run_cli
from triage.cli import main
from triage.db import Database, migrate
from triage.db.crypto import is_encrypted

REPO = Path(__file__).resolve().parent.parent
SENTENCE = "evaluating other vendors"  # Priya's churn threat and Tom's forwarded mail in the sample


def _seed(db: Database, text: str) -> None:
    migrate(db)
    with db.write() as con:
        con.execute(
            "INSERT INTO feedback (feedback_id, action, account_id, signal_id, reason, author, created_at) "
            "VALUES ('f1', 'done', 'acme', NULL, ?, 'dana', now())", [text]
        )


def test_every_connection_attaches_the_file_encrypted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    db = Database(tmp_path / "t.duckdb", encryption_key_env=KEY_ENV)
    _seed(db, "We are now evaluating other vendors, said the client")
    with db.read() as con:
        assert con.execute("SELECT reason FROM feedback").fetchone() == (
            "We are now evaluating other vendors, said the client",
        )
        # the schema and its views work unqualified: the attached file is the default catalog
        assert con.execute("SELECT count(*) FROM v_open_asks").fetchone() == (0,)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert SENTENCE.encode() not in data and key.encode() not in data
    assert is_encrypted(db.path)
    with pytest.raises(duckdb.Error, match="without a key"):
        duckdb.connect(str(db.path), read_only=True)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong", "cannot be opened with the key in TRIAGE_TEST_DB_KEY: wrong encryption key"),
        ("unset", "environment variable TRIAGE_TEST_DB_KEY is not set (it holds the database encryption key)"),
        ("short", "the database encryption key in TRIAGE_TEST_DB_KEY is shorter than 16 characters"),
        ("no key configured", "is encrypted: set database.encryption_key_env"),
    ],
)
def test_a_missing_or_wrong_key_is_one_error_line(
    case: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    _seed(Database(tmp_path / "triage.duckdb", encryption_key_env=KEY_ENV), "a client sentence")
    cfg = sample_config(tmp_path)
    env = cli_env(None if case == "no key configured" else KEY_ENV)
    env[KEY_ENV] = {"wrong": new_key(), "unset": "", "short": "tooshort"}.get(case, key)
    if case == "unset":
        env.pop(KEY_ENV)
    out = run_cli(["--config", str(cfg), "list"], env)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], out.stderr
    assert "Traceback" not in out.stderr and key not in out.stderr + out.stdout


def test_a_plain_file_with_a_key_configured_points_to_db_encrypt(tmp_path: Path) -> None:
    _seed(Database(tmp_path / "triage.duckdb"), "a client sentence")
    env = cli_env(KEY_ENV)
    env[KEY_ENV] = new_key()
    out = run_cli(["--config", str(sample_config(tmp_path)), "list"], env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "is not encrypted" in out.stderr and "triage db encrypt" in out.stderr


def test_db_encrypt_copies_verifies_swaps_and_leaves_nothing_plain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = Database(tmp_path / "triage.duckdb")
    _seed(plain, "We are now evaluating other vendors before the renewal")
    with plain.write() as con:
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, as_of) "
            "SELECT 'r' || i, now(), 'completed', DATE '2026-11-20' FROM range(500) t(i)"
        )
    with plain.read() as con:
        before = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        }
    assert SENTENCE.encode() in plain.path.read_bytes()
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    monkeypatch.setenv("TRIAGE_DATABASE__ENCRYPTION_KEY_ENV", KEY_ENV)
    cfg = sample_config(tmp_path)
    assert main(["--config", str(cfg), "db", "encrypt"]) == 0
    out = capsys.readouterr().out
    assert "runs" in out and "500 rows  verified" in out and "encrypted " in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "triage.duckdb"]
    assert SENTENCE.encode() not in plain.path.read_bytes()
    enc = Database(plain.path, encryption_key_env=KEY_ENV)
    with enc.read() as con:
        after = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1"
            ).fetchall()
        }
        assert con.execute("SELECT reason FROM feedback").fetchone() == (
            "We are now evaluating other vendors before the renewal",
        )
    assert after == before
    migrate(enc)  # the schema keeps its migrations: nothing pending, nothing re-applied
    # a second time is refused, the file untouched
    assert main(["--config", str(cfg), "db", "encrypt"]) == 1
    assert "is already encrypted" in capsys.readouterr().err


def test_check_config_names_the_variable_never_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    monkeypatch.setenv(KEY_ENV, key)
    cfg = sample_config(tmp_path)
    text = cfg.read_text().replace("[database]\n", f'[database]\nencryption_key_env = "{KEY_ENV}"\n', 1)
    cfg.write_text(text)
    assert main(["check-config", str(cfg), "--secrets"]) == 0
    out = capsys.readouterr()
    assert KEY_ENV in out.out and key not in out.out + out.err
    cfg.write_text(text.replace("[database]\n", '[database]\nencryption_key = "x"\n', 1))
    assert main(["check-config", str(cfg)]) == 2
    assert "secrets are not allowed in the config file (encryption_key)" in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_run_writes_no_client_sentence_and_lists_the_same(
    tmp_path_factory: pytest.TempPathFactory, sample_list: Callable[[Path, str | None], tuple[str, Path]]
) -> None:
    plain_list, plain_db = sample_list(tmp_path_factory.mktemp("plain"), None)
    enc_list, enc_db = sample_list(tmp_path_factory.mktemp("encrypted"), new_key())
    assert plain_list == enc_list and "Acme Logistics" in enc_list
    assert SENTENCE.encode() in plain_db.read_bytes()  # the probe finds it where it is
    files = [p for p in enc_db.parent.iterdir() if p.name.startswith("triage.duckdb")]
    assert files and all(SENTENCE.encode() not in p.read_bytes() for p in files)
    for probe in (b"priya.shah@acme-logistics.example", b"SOC 2 Type II"):
        assert all(probe not in p.read_bytes() for p in files)


@pytest.fixture
def sample_list() -> Callable[[Path, str | None], tuple[str, Path]]:
    """`triage run` of the sample as of 2026-11-20 in a subprocess (plain, or with a key); `triage list`."""

    def _run(tmp: Path, key: str | None) -> tuple[str, Path]:
        cfg = sample_config(tmp)
        env = cli_env(KEY_ENV if key else None)
        if key:
            env[KEY_ENV] = key
        run = run_cli(["--config", str(cfg), "-q", "run", "--as-of", "2026-11-20", "--no-list"], env, timeout=900)
        assert run.returncode == 0, run.stderr
        listed = run_cli(["--config", str(cfg), "list", "--no-brief"], env)
        assert listed.returncode == 0, listed.stderr
        as_json = json.loads(run_cli(["--config", str(cfg), "list", "--json"], env).stdout)
        for account in as_json["accounts"]:
            account.pop("run_id")  # each run has its own id
        return listed.stdout + json.dumps(as_json, indent=1), tmp / "triage.duckdb"

    return _run


def test_cli_env_is_this_checkout() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import triage; print(triage.__file__)"],
        env=cli_env(None), capture_output=True, text=True, timeout=60, check=True,
    )
    assert out.stdout.startswith(str(REPO)), out.stdout
