"""A run killed mid-way (SIGKILL, no clean-up) is continued by the next run: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.corpus import make_corpus
from flows.nightly import nightly_triage
from tests.support.flowrun import table_counts, table_keys

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
# what must be identical between a clean run and a killed-then-resumed one
STATE_QUERIES = {
    "raw": "SELECT message_key, content_sha256 FROM raw_messages",
    "messages": "SELECT message_key, thread_id, direction, account_id, new_text FROM messages",
    "utterances": "SELECT transcript_key, seq, speaker, role FROM utterances",
    "signals": "SELECT signal_id, kind, round(score, 6), sentence FROM signals",
    "detections": "SELECT source_type, source_key FROM detections",
    "asks": "SELECT ask_id, status, age_business_days, overdue FROM asks",
    "call_list": "SELECT as_of, rank, account_id, round(score, 6) FROM call_list",
}


def _corpus(root: Path, shared_data: Path) -> Path:
    corpus = make_corpus(root, shared_data, n_emails=300, n_transcripts=6, n_accounts=12)
    with corpus.config.open("a", encoding="utf-8") as f:
        # many small scoring batches, so that the kill lands between stored batches
        f.write("[flow]\nnlp_batch_sentences = 60\n")
    return corpus.config


def _count(db_path: Path, sql: str) -> int:
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.Error:
        return -1  # the writer holds it right now
    try:
        return int(con.execute(sql).fetchone()[0])  # type: ignore[index]
    except duckdb.Error:
        return -1
    finally:
        con.close()


def test_killed_run_is_resumed_without_loss_or_duplicates(tmp_path: Path, shared_data: Path) -> None:
    clean_cfg = _corpus(tmp_path / "clean", shared_data)
    nightly_triage(config_path=str(clean_cfg), as_of=AS_OF)

    cfg = _corpus(tmp_path / "killed", shared_data)
    db_path = cfg.parent / "triage.duckdb"
    exe = Path(sys.executable).with_name("triage")
    proc = subprocess.Popen(
        [str(exe), "-q", "--config", str(cfg), "run", "--no-list", "--as-of", AS_OF.isoformat()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes Prefect's server too
    )
    try:
        deadline = time.monotonic() + 600
        # kill once some scoring batches are stored, but not all of them
        while time.monotonic() < deadline and proc.poll() is None:
            if _count(db_path, "SELECT count(*) FROM detections") > 0:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    interrupted = table_keys(db_path, "SELECT status FROM runs")
    assert interrupted == [("running",)]
    scored_before = _count(db_path, "SELECT count(*) FROM detections")
    assert scored_before > 0

    summary = nightly_triage(config_path=str(cfg), as_of=AS_OF)
    assert summary["status"] == "completed"
    assert table_keys(db_path, "SELECT status FROM runs ORDER BY started_at") in (
        [("interrupted",), ("completed",)],
        [("completed",), ("interrupted",)],
    )
    clean_db = clean_cfg.parent / "triage.duckdb"
    for name, sql in STATE_QUERIES.items():
        assert table_keys(db_path, sql) == table_keys(clean_db, sql), f"{name} differs after resume"
    assert table_counts(db_path) == table_counts(clean_db)
