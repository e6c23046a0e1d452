"""End to end: the real nightly_triage Prefect flow over the bundled sample, into a real DuckDB file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from flows.nightly import nightly_triage
from tests.support.flowrun import sample_config, table_counts, table_keys
from triage.settings import sample_data_dir

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the flow twice over the sample; keep both summaries and table snapshots."""
    tmp = tmp_path_factory.mktemp("sample-run")
    cfg = sample_config(tmp)
    first = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    counts_first = table_counts(tmp / "triage.duckdb")
    second = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    counts_second = table_counts(tmp / "triage.duckdb")
    return {
        "tmp": tmp,
        "cfg": cfg,
        "db": tmp / "triage.duckdb",
        "first": first,
        "second": second,
        "counts_first": counts_first,
        "counts_second": counts_second,
    }


def test_first_run_does_every_stage(sample_run: dict[str, Any]) -> None:
    s = sample_run["first"]
    assert s["status"] == "completed"
    assert s["fetched"] > 0 and s["parsed"] > 0 and s["transcripts"] > 0
    assert s["sentences"] > 0 and s["signals"] > 0
    assert s["accounts_listed"] > 0
    assert set(s["stage_seconds"]) == {"ingest", "parse", "detect", "score", "publish"}
    assert Path(s["html_path"]).is_file()


def test_rerun_adds_nothing(sample_run: dict[str, Any]) -> None:
    s = sample_run["second"]
    assert s["status"] == "completed"
    assert (s["fetched"], s["parsed"], s["transcripts"], s["sentences"], s["signals"]) == (0, 0, 0, 0, 0)
    assert s["quarantined"] == 0
    assert sample_run["counts_second"] == sample_run["counts_first"]
    assert s["accounts_listed"] == sample_run["first"]["accounts_listed"]


def test_run_summaries_are_stored(sample_run: dict[str, Any]) -> None:
    rows = table_keys(
        sample_run["db"],
        "SELECT status, fetched, parsed, quarantined, signals, accounts_listed, duration_s > 0, "
        "json_keys(stage_seconds) FROM runs ORDER BY started_at",
    )
    assert len(rows) == 2
    assert all(r[0] == "completed" and r[6] for r in rows)
    first = sample_run["first"]
    assert (first["fetched"], first["parsed"], first["quarantined"], first["signals"]) in [r[1:5] for r in rows]


def test_every_sample_item_is_stored_or_quarantined(sample_run: dict[str, Any]) -> None:
    mail = sample_data_dir() / "mail"
    # Maildir tmp/ holds deliveries in progress; only the sample's own path parts count (the checkout may sit in /tmp)
    mail_files = [p for p in mail.rglob("*") if p.is_file() and "tmp" not in p.relative_to(mail).parts]
    located = table_keys(sample_run["db"], "SELECT location FROM message_locations")
    quarantined_mail = table_keys(
        sample_run["db"], "SELECT location FROM quarantine WHERE kind = 'mail' AND stage = 'ingest'"
    )
    assert len(located) + len(quarantined_mail) == len(mail_files)
    raw = table_keys(sample_run["db"], "SELECT message_key FROM raw_messages")
    parsed = table_keys(sample_run["db"], "SELECT message_key FROM messages")
    parse_q = table_keys(sample_run["db"], "SELECT item_key FROM quarantine WHERE kind = 'mail' AND stage = 'parse'")
    assert {r[0] for r in raw} == {r[0] for r in parsed} | {r[0] for r in parse_q}
    transcript_files = [p for p in (sample_data_dir() / "transcripts").rglob("*") if p.is_file()]
    stored = table_keys(sample_run["db"], "SELECT path FROM transcripts")
    t_q = table_keys(sample_run["db"], "SELECT location FROM quarantine WHERE kind = 'transcript'")
    assert len(stored) + len(t_q) == len(transcript_files)
    assert len(t_q) >= 1  # the sample carries a broken transcript on purpose


def test_signals_carry_evidence_and_version(sample_run: dict[str, Any]) -> None:
    rows = table_keys(
        sample_run["db"],
        "SELECT kind, sentence, score, detector, detector_version FROM signals",
    )
    kinds = {r[0] for r in rows}
    assert {"frustration", "buying_signal", "ask"} <= kinds
    for kind, sentence, score, detector, version in rows:
        assert sentence.strip() and 0.0 <= score <= 1.0
        assert detector.startswith(f"{kind}.v") or kind == "commitment"
        assert version


def test_ops_views_answer(sample_run: dict[str, Any]) -> None:
    today = table_keys(sample_run["db"], "SELECT rank, account_id, reasons, brief FROM v_call_list_today")
    assert [r[0] for r in sorted(today)] == list(range(1, len(today) + 1))
    for _, _, reasons, brief in today:
        assert json.loads(reasons) and brief
    signals = table_keys(sample_run["db"], "SELECT count(*) FROM v_account_signals")
    assert signals[0][0] > 0


def test_cli_run_prints_the_morning_list(tmp_path: Path) -> None:
    cfg = sample_config(tmp_path)
    exe = Path(sys.executable).with_name("triage")
    out = subprocess.run(
        [str(exe), "--config", str(cfg), "run", "--as-of", AS_OF.isoformat()],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "run completed" in out.stderr
    listed = table_keys(tmp_path / "triage.duckdb", "SELECT account_name FROM v_call_list_today")
    assert listed
    for (name,) in listed:
        assert name in out.stdout


def test_run_completes_while_an_ops_reader_keeps_opening_the_file(sample_run: dict[str, Any], tmp_path: Path) -> None:
    cfg = sample_config(tmp_path)
    db_path = tmp_path / "triage.duckdb"
    stop = tmp_path / "stop"
    # an analyst session that keeps a read-only connection open 1.5 s at a time, for the whole run
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, os, time
                held = 0
                while not os.path.exists({str(stop)!r}):
                    try:
                        con = duckdb.connect({str(db_path)!r}, read_only=True)
                    except Exception:
                        time.sleep(0.05)
                        continue
                    con.execute("SELECT count(*) FROM information_schema.tables").fetchall()
                    held += 1
                    time.sleep(1.5)
                    con.close()
                    time.sleep(0.3)
                print(held)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # the reader needs an existing file: create the schema first
        from triage.db import open_database
        from triage.settings import load_settings

        open_database(load_settings(cfg))
        summary = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    finally:
        stop.write_text("x")
        held = int(reader.communicate(timeout=60)[0].strip() or 0)
    assert held >= 2
    assert summary["status"] == "completed"
    assert table_counts(db_path) == sample_run["counts_first"]


def test_sample_call_list_order_is_the_explained_one(sample_run: dict[str, Any]) -> None:
    """The contract of triage/sample_data/EXPECTED.md, through the real parsers and detectors."""
    ranked = [r[1] for r in sorted(table_keys(sample_run["db"], "SELECT rank, account_id FROM v_call_list_today"))]
    assert ranked[:3] == ["acme", "blueriver", "cedar"]
    assert not {"delta", "granite", "evergreen"} & set(ranked)
    reasons = dict(table_keys(sample_run["db"], "SELECT account_id, reasons FROM v_call_list_today"))
    acme = json.loads(reasons["acme"])
    kinds = {r["kind"] for r in acme}
    assert any("frustration" in k for k in kinds) and any("ask" in k for k in kinds)
    # every reason drawn from signals quotes its evidence (recency quotes only what is not shown yet; the
    # tier/value multiplier has none)
    assert all(r.get("evidence") for r in acme if r["kind"] not in ("recency", "value"))
    overdue = next(r for r in acme if r["kind"] == "overdue_asks")
    assert overdue["speaker"] in ("Priya Shah", "Tom Becker")  # a client ask is quoted before our promises
    unknown = table_keys(sample_run["db"], "SELECT address FROM unknown_senders")
    assert ("kevin.marsh@globex-partners.example",) in unknown
    # issue 14: the quiet account (harbor: fortnightly reports, nothing since 19 Oct) and slow answers (acme,
    # blueriver: mail needing an answer that nobody answered) are on the morning list, from metadata only
    kinds = {acc: {r["kind"] for r in json.loads(v)} for acc, v in reasons.items()}
    assert "harbor" in ranked and "engagement_drop" in kinds["harbor"]
    assert {acc for acc, k in kinds.items() if "slow_response" in k} >= {"acme", "blueriver"}
    quiet = "SELECT account_id, silent_days FROM v_account_engagement WHERE engagement_drop"
    eng = dict(table_keys(sample_run["db"], quiet))
    assert eng == {"harbor": 32}


def test_mail_we_cannot_read_is_said_so(sample_run: dict[str, Any]) -> None:
    """Issue 23: alpenrose's German, French and Spanish mail gives no English signal and is on the list as not
    analysed; everything else is read as before (English, or too short to tell)."""
    db = sample_run["db"]
    langs = dict(table_keys(db, "SELECT subject || ' / ' || direction, language FROM messages "
                                "WHERE account_id = 'alpenrose'"))
    assert langs == {
        "Rechnung Oktober doppelt abgebucht / inbound": "de", "AW: Rechnung Oktober doppelt abgebucht / outbound": "de",
        "AW: Rechnung Oktober doppelt abgebucht / inbound": "de",
        "Réservations de Genève absentes du tableau de bord / inbound": "fr",
        "Licencias para el nuevo hotel de Málaga / inbound": "es",
    }
    others = table_keys(db, "SELECT DISTINCT language FROM messages WHERE coalesce(account_id, '') <> 'alpenrose' "
                            "UNION SELECT DISTINCT language FROM utterances")
    assert {r[0] for r in others} <= {"en", "und"}
    assert table_keys(db, "SELECT count(*) FROM signals WHERE account_id = 'alpenrose'") == [(0,)]
    unread = table_keys(db, "SELECT d.unread_units, d.sentences FROM detections d JOIN messages m "
                            "ON d.source_key = m.message_key WHERE m.account_id = 'alpenrose'")
    assert sorted(unread) == [(1, 0)] * 5
    assert table_keys(db, "SELECT count(*) FROM v_unread") == [(5,)]
    assert table_keys(db, "SELECT count(*) FROM detections WHERE unread_units > 0 AND source_key NOT IN "
                          "(SELECT message_key FROM messages WHERE account_id = 'alpenrose')") == [(0,)]
    ranked = [r[1] for r in sorted(table_keys(db, "SELECT rank, account_id FROM v_call_list_today"))]
    assert ranked == ["acme", "blueriver", "cedar", "fjord", "harbor", "alpenrose"]
    reasons = json.loads(dict(table_keys(db, "SELECT account_id, reasons FROM v_call_list_today"))["alpenrose"])
    assert [r["kind"] for r in reasons] == ["unread_language", "value"]
    unread_reason = reasons[0]
    assert unread_reason["text"] == "4 messages not analysed since Thu 12 Nov: 2 in German, 1 in French, 1 in Spanish"
    assert unread_reason["evidence"] == "Newest message (Spanish): Licencias para el nuevo hotel de Málaga"
    assert unread_reason["link"].endswith("1795079118.M039P4242.mail.northwind.example")
    assert unread_reason["speaker"] == "Javier Ortega"


def test_reading_german_too_scores_the_german_mail(sample_run: dict[str, Any], tmp_path: Path) -> None:
    """[nlp] languages = ["en", "de"]: the German units are scored (by the English models, as they are);
    French and Spanish stay unread and the reason says so."""
    import shutil

    shutil.copy(sample_run["db"], tmp_path / "triage.duckdb")
    cfg = sample_config(tmp_path, extra='[nlp]\nlanguages = ["en", "de"]\n')
    summary = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    assert summary["status"] == "completed" and summary["sentences"] > 0  # a new pipeline version: read again
    db = tmp_path / "triage.duckdb"
    rows = table_keys(db, "SELECT m.language, d.unread_units, d.sentences > 0 FROM detections d JOIN messages m "
                          "ON d.source_key = m.message_key WHERE m.account_id = 'alpenrose'")
    assert sorted(rows) == [("de", 0, True)] * 3 + [("es", 1, False), ("fr", 1, False)]
    reasons = json.loads(dict(table_keys(db, "SELECT account_id, reasons FROM v_call_list_today"))["alpenrose"])
    assert reasons[0]["text"] == "2 messages not analysed since Tue 17 Nov: 1 in French, 1 in Spanish"
