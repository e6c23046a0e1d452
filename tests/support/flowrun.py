"""Helpers for end-to-end tests: configs over the bundled sample, table snapshots."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from triage.settings import sample_data_dir

__all__ = ["home_config", "night_copy", "sample_config", "sample_night", "table_counts", "table_keys", "toml_value"]


def toml_value(v: Any) -> str:
    if isinstance(v, Path):
        return json.dumps(str(v))
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


def sample_config(tmp: Path, *, extra: str = "", mail: Path | None = None, transcripts: Path | None = None) -> Path:
    """A config running the bundled sample (or the given folders) into tmp/triage.duckdb."""
    from triage.settings import sample_defaults

    d = sample_defaults()
    org = d["org"]
    text = f"""
[database]
path = {toml_value(tmp / "triage.duckdb")}
lock_timeout_seconds = 120
retry_max_seconds = 0.5
[org]
name = {toml_value(org["name"])}
our_domains = {toml_value(org["our_domains"])}
accounts_file = {toml_value(org["accounts_file"])}
internal_people = {toml_value(org.get("internal_people", []))}
[[sources.local]]
name = "sample"
path = {toml_value(mail or sample_data_dir() / "mail")}
[transcripts]
paths = [{toml_value(transcripts or sample_data_dir() / "transcripts")}]
[output]
html_path = {toml_value(tmp / "triage-today.html")}
{extra}
"""
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def table_counts(db_path: Path, *, exclude: tuple[str, ...] = ("runs",)) -> dict[str, int]:
    """Row count of every base table (the run log excluded: every run adds one row by design)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for t in _tables(con)
            if t not in exclude
        }
    finally:
        con.close()


def table_keys(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def home_config(home: Path, extra: str = "", *, key_env: str | None = None) -> Path:
    """A config over a home folder: db/, mail/, transcripts/, pages/ (what :func:`sample_night` makes)."""
    from triage.settings import sample_defaults

    org = sample_defaults()["org"]
    path = home / "config.toml"
    path.write_text(f"""
[database]
path = {toml_value(home / "db" / "triage.duckdb")}
lock_timeout_seconds = 120
retry_max_seconds = 0.5
{f"encryption_key_env = {toml_value(key_env)}" if key_env else ""}
[org]
name = {toml_value(org["name"])}
our_domains = {toml_value(org["our_domains"])}
accounts_file = {toml_value(org["accounts_file"])}
internal_people = {toml_value(org["internal_people"])}
[[sources.local]]
name = "sample"
path = {toml_value(home / "mail")}
[transcripts]
paths = [{toml_value(home / "transcripts")}]
[output]
html_path = {toml_value(home / "pages" / "triage-today.html")}
{extra}
""", encoding="utf-8")
    return path


def night_copy(night: Path, target: Path, extra: str = "") -> Path:
    """A test's own copy of a :func:`sample_night` (database, pages, folders) with its config (``extra``
    appended) and Prefect's home for its CLI runs inside it."""
    import shutil

    shutil.copytree(night, target, ignore=shutil.ignore_patterns("config.toml"))
    home_config(target, extra)
    (target / "prefect").mkdir(exist_ok=True)
    return target


def sample_night(home: Path, as_of: date) -> Path:
    """The bundled sample copied into ``home`` (mail and transcripts can be added to) and one real nightly
    run over it as of ``as_of``: database in db/, the all-accounts page in pages/."""
    import shutil

    from flows.nightly import nightly_triage

    shutil.copytree(sample_data_dir() / "mail", home / "mail")
    shutil.copytree(sample_data_dir() / "transcripts", home / "transcripts")
    (home / "pages").mkdir()
    assert nightly_triage(config_path=str(home_config(home)), as_of=as_of)["status"] == "completed"
    return home
