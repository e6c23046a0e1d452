"""Retention (issue 16): `[retention]` windows on a real run of the sample, `triage purge [--dry-run]`,
and runs with `--as-of` moved forward. A 30-day raw window keeps the list identical; purged messages
are never fetched or parsed again; the list and its history keep working from what remains."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.nightly import nightly_triage
from tests.support.flowrun import sample_config, table_counts
from triage.cli import main

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
# raw-only bytes of Fjord's 30 Sep mail (its header and signature; the detectors' sentences stay)
FJORD_RAW = b"Date: Wed, 30 Sep 2026 09:02:11 +0200"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _list_json(cfg: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    """`triage list --json`, without the run ids (a re-run builds the same list under a new run id)."""
    assert main(["--config", str(cfg), "list", "--json", *extra]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    for account in data["accounts"]:
        account.pop("run_id")
    return data


def _with_retention(cfg: Path, raw_days: int, derived_days: int = 0) -> None:
    text = cfg.read_text(encoding="utf-8").split("\n[retention]", 1)[0]
    cfg.write_text(text + f"\n[retention]\nraw_days = {raw_days}\nderived_days = {derived_days}\n", encoding="utf-8")


def test_retention_windows_on_the_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = sample_config(tmp_path)
    db = tmp_path / "triage.duckdb"
    first = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    assert first["status"] == "completed" and "retention" not in first["stage_seconds"]  # off by default
    listed = _list_json(cfg, capsys)
    assert [a["account_id"] for a in listed["accounts"]][:3] == ["acme", "blueriver", "cedar"]
    assert FJORD_RAW in db.read_bytes()

    # purge --dry-run: per-table counts of the 30-day raw window, nothing changes
    _with_retention(cfg, raw_days=30)
    counts = table_counts(db)
    assert main(["--config", str(cfg), "purge", "--as-of", "2026-11-20", "--dry-run"]) == 0
    out = capsys.readouterr().out
    dry = {line.split()[0]: int(line.split()[1].replace(",", "")) for line in out.splitlines()[:-1]}
    old_mail = _rows(db, "SELECT count(*) FROM raw_messages r LEFT JOIN messages m USING (message_key) "
                         "WHERE coalesce(m.sent_at, r.internal_date) < TIMESTAMPTZ '2026-10-21 00:00:00+00'")[0][0]
    assert dry["raw_messages.raw"] == old_mail > 0
    assert dry["utterances.text"] > 0  # the BlueRiver QBR of 20 Oct
    assert "nothing changed" in out and table_counts(db) == counts

    assert main(["--config", str(cfg), "purge", "--as-of", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    assert f"raw_messages.raw {dry['raw_messages.raw']:>8,}".split() == out.splitlines()[0].split()
    data = db.read_bytes()
    assert FJORD_RAW not in data
    assert _rows(db, "SELECT count(*) FROM raw_messages WHERE raw IS NULL AND purged_at IS NOT NULL")[0][0] == old_mail
    # a run of the same day rebuilds the list from what is left: identical; nothing comes back
    again = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    assert again["status"] == "completed" and "retention" in again["stage_seconds"]
    assert (again["fetched"], again["parsed"], again["transcripts"], again["signals"]) == (0, 0, 0, 0)
    assert _list_json(cfg, capsys) == listed
    assert FJORD_RAW not in db.read_bytes()

    # two months later, with a 90-day derived window: the run purges at its end; history still reads
    _with_retention(cfg, raw_days=30, derived_days=90)
    later = nightly_triage(config_path=str(cfg), as_of=date(2027, 1, 22))
    assert later["status"] == "completed" and (later["fetched"], later["parsed"]) == (0, 0)
    assert _list_json(cfg, capsys, "--as-of", "2026-11-20") == listed
    assert _list_json(cfg, capsys)["as_of"] == "2027-01-22"
    cutoff = "TIMESTAMPTZ '2026-10-24 00:00:00+00'"  # 2027-01-22 - 90 days
    assert _rows(db, f"SELECT count(*) FROM signals WHERE occurred_at < {cutoff}")[0][0] == 0
    assert _rows(db, "SELECT count(*) FROM raw_messages WHERE raw IS NOT NULL")[0][0] == 0  # all older than 30 d
    assert _rows(db, "SELECT count(*) FROM utterances WHERE text IS NOT NULL")[0][0] == 0
    assert _rows(db, "SELECT count(*) FROM signals")[0][0] > 0  # evidence of November stays
    # and a dry run now finds nothing left to do
    assert main(["--config", str(cfg), "purge", "--as-of", "2027-01-22", "--dry-run"]) == 0
    assert "0 rows would change" in capsys.readouterr().out


def test_purge_without_windows_and_too_short_windows_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = sample_config(tmp_path)
    assert main(["--config", str(cfg), "purge", "--dry-run"]) == 2
    assert "no retention window is set" in capsys.readouterr().err
    _with_retention(cfg, raw_days=30, derived_days=30)
    assert main(["--config", str(cfg), "purge"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "retention.derived_days = 30 is shorter than the scoring window (90 days" in err
