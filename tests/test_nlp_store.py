"""pending_batches / store_signals against a real DuckDB file (rows inserted with SQL, as parse would)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.db import Database
from triage.errors import DetectorError
from triage.nlp import detect_batch, detect_units, pending_batches, store_signals
from triage.nlp.store import batch_units, read_pending_units
from triage.settings import Settings
from triage.types import TextUnit

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)

MAILS = [
    # key, direction, account, text
    ("m-frustrated", "inbound", "acme",
     "Hi Anna,\nThis is the third time this month the nightly export has failed. Honestly, we are running out "
     "of patience and are now looking at alternatives.\nMark"),
    ("m-buying", "inbound", "acme",
     "We'd like to roll the dashboards out to the finance team. Could you send us a quote for 40 additional "
     "seats by Friday?"),
    ("m-ours", "outbound", "acme", "Thanks Mark. I'll send the updated quote by Friday. Sorry for the trouble."),
    ("m-chitchat", "external", None, "Thanks for the lunch last week, it was great catching up!"),
    ("m-empty", "inbound", "acme", "   "),
]


def insert_messages(db: Database, rows: list[tuple[str, str, str | None, str]] = MAILS) -> None:
    with db.write() as con:
        for key, direction, account, text in rows:
            con.execute(
                "INSERT INTO messages (message_key, thread_id, from_addr, sent_at, direction, account_id, new_text,"
                " link, parsed_at, parser_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test')",
                [key, f"thread-{account}", f"{key}@example.com", NOW, direction, account, text,
                 f"file:///mail/{key}.eml", NOW],
            )


def insert_meeting(db: Database, key: str = "t-1") -> None:
    turns = [
        ("Dana (Acme)", "client", 12.0, "So overall the rollout in the first region went pretty smoothly."),
        ("Dana (Acme)", "client", 30.5, "What would it cost us to add another hundred seats for the call center?"),
        ("Sam", "internal", 41.0, "I will send you the numbers by Thursday."),
        ("Dana (Acme)", "client", 55.0, "The one thing that really annoyed people was the login problems."),
        ("Guest", "unknown", 70.0, "   "),
    ]
    with db.write() as con:
        con.execute(
            "INSERT INTO transcripts (transcript_key, path, format, title, meeting_at, account_id, utterance_count,"
            " link, parsed_at, parser_version) VALUES (?, ?, 'json', 'QBR', ?, 'acme', ?, ?, ?, 'test')",
            [key, f"/meetings/{key}.json", NOW, len(turns), f"file:///meetings/{key}.json", NOW],
        )
        for seq, (speaker, role, start, text) in enumerate(turns):
            con.execute(
                "INSERT INTO utterances (transcript_key, seq, speaker, role, start_s, end_s, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [key, seq, speaker, role, start, start + 10, text],
            )


def count(db: Database, sql: str) -> int:
    with db.read() as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def run_once(settings: Settings, db: Database, run_id: str = "run-1") -> int:
    """What the flow's detect stage does: pending batches, scored, stored with their score-cache entries."""
    n = 0
    for batch in pending_batches(settings, db):
        detected = detect_batch(settings, batch)
        report = store_signals(db, batch, detected.signals, run_id, detected, settings.nlp.cache_max_entries)
        n += report.signals
    return n


def test_pending_units_map_parties_links_and_skip_empty_text(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    insert_messages(db)
    insert_meeting(db)
    units = [u for b in pending_batches(make_settings(), db) for u in b]
    by_key = {(u.source_key, u.seq): u for u in units}
    assert ("m-empty", 0) not in by_key
    assert by_key[("m-frustrated", 0)].party == "client"
    assert by_key[("m-ours", 0)].party == "us"
    assert by_key[("m-chitchat", 0)].party == "unknown"
    assert by_key[("m-buying", 0)].speaker == "m-buying@example.com"
    assert by_key[("m-buying", 0)].thread_id == "thread-acme"
    meeting = [u for u in units if u.source_type == "meeting"]
    assert [u.seq for u in meeting] == [0, 1, 2, 3]  # the blank utterance is not scored
    assert [u.party for u in meeting] == ["client", "client", "us", "client"]
    assert meeting[1].link == "file:///meetings/t-1.json#t=30.5"
    assert meeting[1].occurred_at == NOW.replace(second=30, microsecond=500000)
    assert all(u.pipeline_version and u.pipeline_version == units[0].pipeline_version for u in units)


def test_batches_never_split_a_source() -> None:
    units = [TextUnit("meeting", "t-a", i, "One. Two. Three.", "client") for i in range(5)]
    units += [TextUnit("email", f"m-{i}", 0, "A sentence. Another one.", "client") for i in range(4)]
    batches = batch_units(units, sentences_per_batch=4)
    assert [u for b in batches for u in b] == units
    owners = {}
    for i, b in enumerate(batches):
        for u in b:
            owners.setdefault((u.source_type, u.source_key), set()).add(i)
    assert all(len(v) == 1 for v in owners.values())
    assert len(batches) == 3  # the 15-sentence meeting alone, then 2 + 2 e-mails


@pytest.mark.slow
def test_store_is_idempotent_and_marks_every_source(db: Database, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    insert_messages(db)
    insert_meeting(db)
    stored = run_once(settings, db)
    assert stored > 0
    kinds = {r[0]: r[1] for r in _rows(db, "SELECT kind, count(*) FROM signals GROUP BY kind")}
    assert {"frustration", "buying_signal", "ask", "commitment"} <= set(kinds)
    # every source got a detections row, also those without any signal
    assert count(db, "SELECT count(*) FROM detections") == 5  # 4 non-empty mails + 1 meeting
    assert count(db, "SELECT count(*) FROM detections WHERE source_key = 'm-chitchat'") == 1
    assert count(db, "SELECT min(sentences) FROM detections") >= 1
    # our own mail only yields commitments, with its due date
    ours = _rows(db, "SELECT kind, due_date, detector FROM signals WHERE source_key = 'm-ours'")
    assert ours == [("commitment", datetime(2026, 11, 20).date(), "ask.v2")]
    # meeting signals keep the utterance and the moment
    meet = _rows(db, "SELECT DISTINCT utterance_seq, start_s, party FROM signals WHERE source_type = 'meeting'"
                     " AND kind = 'buying_signal'")
    assert (1, 30.5, "client") in meet
    before = count(db, "SELECT count(*) FROM signals")
    # a second run finds nothing pending and stores nothing new
    assert pending_batches(settings, db) == []
    assert run_once(settings, db, "run-2") == 0
    assert count(db, "SELECT count(*) FROM signals") == before
    # storing the same batch again (a crashed run resumed after its write) does not duplicate either
    units = [u for u in read_pending_units(db, "another-version") if u.source_key == "m-frustrated"]
    again = [replace(u, pipeline_version=_version(settings)) for u in units]
    found = detect_units(settings, again)
    assert found
    store_signals(db, again, found, "run-3")
    store_signals(db, again, found, "run-3")
    assert count(db, "SELECT count(*) FROM signals") == before
    assert pending_batches(settings, db) == []


@pytest.mark.slow
def test_new_threshold_is_a_new_pipeline_version_that_rescores(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    insert_messages(db)
    old = make_settings()
    run_once(old, db)
    old_ids = {r[0] for r in _rows(db, "SELECT signal_id FROM signals WHERE kind = 'frustration'")}
    # a lower frustration threshold is a new pipeline version: everything is pending again
    new = make_settings("[nlp.thresholds]\nfrustration = 0.01\n")
    assert sum(len(b) for b in pending_batches(new, db)) == 4
    run_once(new, db, "run-2")
    assert pending_batches(new, db) == []
    # one detections row per source, for the new version only
    assert count(db, "SELECT count(*) FROM detections") == 4
    assert count(db, "SELECT count(DISTINCT pipeline_version) FROM detections") == 1
    # same heads and rules: signals that still pass keep their id (feedback on them survives), more pass now
    new_ids = {r[0] for r in _rows(db, "SELECT signal_id FROM signals WHERE kind = 'frustration'")}
    assert old_ids < new_ids
    # switching back re-scores again (the old detections rows were replaced) and drops what no longer passes
    assert sum(len(b) for b in pending_batches(old, db)) == 4
    run_once(old, db, "run-3")
    assert {r[0] for r in _rows(db, "SELECT signal_id FROM signals WHERE kind = 'frustration'")} == old_ids


@pytest.mark.slow
def test_changed_head_replaces_old_detector_versions(
    db: Database, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from triage.settings import default_models_dir

    shipped = default_models_dir()
    models = tmp_path / "models"
    shutil.copytree(shipped, models, ignore=shutil.ignore_patterns(".build"))
    toml = f"[nlp]\nmodels_dir = '{models}'\ncache_dir = '{shipped / '.build'}'\n"
    insert_messages(db)
    run_once(make_settings(toml), db)
    before = dict(_rows(db, "SELECT DISTINCT kind, detector_version FROM signals"))
    assert {"frustration", "buying_signal", "ask"} <= set(before)
    # re-trained heads (here: their metadata changed) -> a new version of every detector
    meta = json.loads((models / "heads.json").read_text())
    meta["meta"]["note"] = "retrained"
    (models / "heads.json").write_text(json.dumps(meta))
    run_once(make_settings(toml), db, "run-2")
    after = dict(_rows(db, "SELECT DISTINCT kind, detector_version FROM signals"))
    assert set(after) == set(before)
    for kind, version in before.items():
        assert after[kind] != version and after[kind].split("+")[0] == version.split("+")[0]
        assert count(db, f"SELECT count(*) FROM signals WHERE detector_version = '{version}'") == 0
    assert count(db, "SELECT count(*) FROM signals WHERE run_id = 'run-1'") == 0


@pytest.mark.slow
def test_changed_message_text_is_rescored(db: Database, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    insert_messages(db, MAILS[:1])
    run_once(settings, db)
    assert pending_batches(settings, db) == []
    with db.write() as con:
        con.execute("UPDATE messages SET new_text = 'Could you send the invoice again?'"
                    " WHERE message_key = 'm-frustrated'")
    [[unit]] = pending_batches(settings, db)
    run_once(settings, db, "run-2")
    kinds = [r[0] for r in _rows(db, "SELECT kind FROM signals WHERE source_key = 'm-frustrated'")]
    assert kinds == ["ask"]
    assert unit.text.startswith("Could you")


def test_machine_sent_mail_is_never_evidence(db: Database, make_settings: Callable[..., Settings]) -> None:
    insert_messages(db, MAILS[:2])
    with db.write() as con:
        con.execute("UPDATE messages SET machine_sent = 'list' WHERE message_key = 'm-frustrated'")
    units = [u for b in pending_batches(make_settings(), db) for u in b]
    assert [u.source_key for u in units] == ["m-buying"]


def test_store_refuses_units_without_pipeline_version(db: Database) -> None:
    unit = TextUnit("email", "m-x", 0, "Hello.", "client")
    with pytest.raises(DetectorError, match="pending_batches"):
        store_signals(db, [unit], [], "run-1")


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with db.read() as con:
        return [tuple(r) for r in con.execute(sql).fetchall()]


def _version(settings: Settings) -> str:
    from triage.nlp.runtime import pipeline_version, spec_from_settings

    return pipeline_version(spec_from_settings(settings))


@pytest.mark.slow
def test_score_cache_is_persisted_reused_and_changes_nothing(
    db: Database, make_settings: Callable[..., Settings]
) -> None:
    from triage.nlp.cache import get_cache
    from triage.nlp.spec import model_name, spec_from_settings

    insert_messages(db)
    insert_meeting(db)
    settings = make_settings()
    model = model_name(spec_from_settings(settings))
    cache = get_cache(model)
    cache.entries.clear()
    run_once(settings, db)
    first = _rows(db, "SELECT signal_id, kind, score, sentence FROM signals ORDER BY signal_id")
    stored = count(db, f"SELECT count(*) FROM sentence_cache WHERE model = '{model}'")
    assert stored == len(cache.entries) > 0
    # hashes and numbers only: no client text in the cache table
    cols = {r[0] for r in _rows(db, "SELECT column_name FROM information_schema.columns "
                                    "WHERE table_name = 'sentence_cache'")}
    assert cols == {"model", "key", "scores", "subtypes", "created_at"}
    # a new process (empty memory) with a new threshold: everything is scored again, all from the table
    cache.entries.clear()
    cache.hits = cache.misses = 0
    lower = make_settings("[nlp.thresholds]\nask = 0.4\n")
    run_once(lower, db, "run-2")
    assert cache.misses == 0 and cache.hits > 0
    # the same scores as computed fresh (encoding is batch-invariant): re-scoring without the cache agrees
    cache.entries.clear()
    with db.write() as con:
        con.execute("DELETE FROM sentence_cache")
        con.execute("DELETE FROM detections")
    run_once(settings, db, "run-3")
    assert _rows(db, "SELECT signal_id, kind, score, sentence FROM signals ORDER BY signal_id") == first


def test_cache_keys_follow_what_the_encoder_sees() -> None:
    from triage.nlp.cache import key_of

    same = ("Could you send the  quote?", "could you send the quote?", " Could you\nsend the quote? ")
    assert len({key_of(t) for t in same}) == 1
    assert key_of("Could you send the quote?") != key_of("Could you send the quote.")


def test_a_bounded_cache_keeps_the_newest_entries_of_the_current_model(db: Database) -> None:
    from datetime import timedelta

    from triage.nlp.cache import CacheRow
    from triage.nlp.store import _write_cache

    with db.write() as con:
        for day in range(3):
            rows = [CacheRow(day * 10 + i, (0.1, 0.2, 0.3, 0.4, 0.5), (0, 1, -1)) for i in range(10)]
            _write_cache(con, "m1", rows, NOW + timedelta(days=day), max_entries=15)
    keys = sorted(int(r[0]) for r in _rows(db, "SELECT key FROM sentence_cache"))
    assert keys == list(range(15, 30))  # the 15 newest
    with db.write() as con:  # new heads: a new namespace, the old one goes
        _write_cache(con, "m2", [CacheRow(7, (0.0,) * 5, (-1, -1, -1))], NOW + timedelta(days=3), 15)
    assert _rows(db, "SELECT model, key FROM sentence_cache") == [("m2", 7)]
