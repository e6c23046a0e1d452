"""Helpers for end-to-end tests: configs over the bundled sample, table snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from triage.settings import sample_data_dir

__all__ = ["sample_config", "table_counts", "table_keys", "toml_value"]


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
