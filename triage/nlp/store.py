"""DuckDB side of the detectors: what is pending, and storing signals + detections idempotently.

* :func:`read_pending_units` (one read phase): message new texts and meeting utterances with no
  ``detections`` row for the current pipeline version (and, for e-mail, for the current text); mail a
  machine sent (``messages.machine_sent``: lists, bulk mail, auto-replies) is never evidence. Units in a
  language the detectors do not read (``[nlp] languages``) come marked ``unread``: no signals, but their
  source gets its ``detections`` row (``unread_units``) like any other, so no run reads them again.
* :func:`batch_units`: batches of about N sentences that never split a source.
* :func:`write_signals` (one write transaction): insert signals (ON CONFLICT DO NOTHING), delete the
  signals of the same sources that this result does not contain (older detector versions), replace
  the sources' ``detections`` rows so the next run skips them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from triage.db import Database
from triage.errors import DetectorError
from triage.nlp.cache import get_cache, rows_table
from triage.types import DetectReport, Party, Signal, TextUnit, is_read

if TYPE_CHECKING:
    from triage.nlp.cache import CacheRow

__all__ = ["batch_units", "content_sha256", "estimate_sentences", "load_cache", "read_pending_units", "write_signals"]

_DIRECTION_PARTY: dict[str, Party] = {"inbound": "client", "outbound": "us", "internal": "us", "external": "unknown"}
_ROLE_PARTY: dict[str, Party] = {"client": "client", "internal": "us", "unknown": "unknown"}
_SENT_GUESS = re.compile(r"[.!?]+(?=\s|$)|\n")


def content_sha256(unit: TextUnit) -> str | None:
    """Identity of the scored text of an e-mail (meetings are keyed by content already)."""
    if unit.source_type != "email":
        return None
    return hashlib.sha256(unit.text.encode("utf-8")).hexdigest()


def estimate_sentences(text: str) -> int:
    return max(1, len(_SENT_GUESS.findall(text.strip())))


def _meeting_link(link: str | None, start_s: float | None) -> str | None:
    if not link or start_s is None:
        return link
    return f"{link.split('#', 1)[0]}#t={start_s:g}"


def read_pending_units(db: Database, version: str, languages: Iterable[str] = ("en",)) -> list[TextUnit]:
    """Units the pipeline ``version`` has not scored, ordered by source (one read phase); those whose
    language is not in ``languages`` are marked ``unread`` (recorded as handled, never scored)."""
    with db.read() as con:
        mails = con.execute(
            """
            SELECT m.message_key, m.new_text, m.direction, m.account_id, m.thread_id, m.from_addr,
                   m.sent_at, m.link, m.language
            FROM messages m
            WHERE m.new_text IS NOT NULL AND length(trim(m.new_text)) > 0 AND m.machine_sent IS NULL
              AND NOT EXISTS (
                  SELECT 1 FROM detections d
                  WHERE d.source_type = 'email' AND d.source_key = m.message_key
                    AND d.pipeline_version = ? AND d.content_sha256 = sha256(m.new_text))
            ORDER BY m.sent_at NULLS LAST, m.message_key
            """,
            [version],
        ).fetchall()
        turns = con.execute(
            """
            SELECT t.transcript_key, t.account_id, t.meeting_at, t.link,
                   u.seq, u.speaker, u.role, u.start_s, u.text, u.language
            FROM utterances u JOIN transcripts t USING (transcript_key)
            WHERE length(trim(u.text)) > 0
              AND NOT EXISTS (
                  SELECT 1 FROM detections d
                  WHERE d.source_type = 'meeting' AND d.source_key = t.transcript_key
                    AND d.pipeline_version = ?)
            ORDER BY t.meeting_at NULLS LAST, t.transcript_key, u.seq
            """,
            [version],
        ).fetchall()
    read = set(languages)
    units: list[TextUnit] = []
    for key, text, direction, account, thread, sender, sent_at, link, lang in mails:
        units.append(TextUnit(
            source_type="email", source_key=key, seq=0, text=text,
            party=_DIRECTION_PARTY.get(str(direction), "unknown"), account_id=account, thread_id=thread,
            speaker=sender, occurred_at=sent_at, link=link, pipeline_version=version,
            language=lang, unread=not is_read(lang, read),
        ))
    for key, account, meeting_at, link, seq, speaker, role, start_s, text, lang in turns:
        at = meeting_at + timedelta(seconds=start_s) if meeting_at is not None and start_s is not None else meeting_at
        units.append(TextUnit(
            source_type="meeting", source_key=key, seq=int(seq), text=text,
            party=_ROLE_PARTY.get(str(role), "unknown"), account_id=account, thread_id=None,
            speaker=speaker, occurred_at=at, start_s=start_s, link=_meeting_link(link, start_s),
            pipeline_version=version, language=lang, unread=not is_read(lang, read),
        ))
    return units


def batch_units(units: Sequence[TextUnit], sentences_per_batch: int) -> list[list[TextUnit]]:
    """Consecutive batches of about ``sentences_per_batch`` sentences; a source is never split."""
    batches: list[list[TextUnit]] = []
    current: list[TextUnit] = []
    count = 0
    i = 0
    while i < len(units):
        j = i
        source = (units[i].source_type, units[i].source_key)
        while j < len(units) and (units[j].source_type, units[j].source_key) == source:
            j += 1
        group = units[i:j]
        n = sum(estimate_sentences(u.text) for u in group if not u.unread)
        if current and count + n > sentences_per_batch:
            batches.append(current)
            current, count = [], 0
        current.extend(group)
        count += n
        i = j
    if current:
        batches.append(current)
    return batches


_SIGNAL_COLUMNS = [
    ("signal_id", pa.string()), ("kind", pa.string()), ("subtype", pa.string()), ("score", pa.float64()),
    ("intensity", pa.float64()), ("sentence", pa.string()), ("sentence_idx", pa.int32()),
    ("source_type", pa.string()), ("source_key", pa.string()), ("utterance_seq", pa.int32()),
    ("start_s", pa.float64()), ("thread_id", pa.string()), ("account_id", pa.string()),
    ("speaker", pa.string()), ("party", pa.string()), ("occurred_at", pa.timestamp("us", tz="UTC")),
    ("due_date", pa.date32()), ("rules", pa.list_(pa.string())), ("detector", pa.string()),
    ("detector_version", pa.string()), ("link", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
    ("run_id", pa.string()),
]


def _signals_table(signals: Iterable[Signal], now: datetime, run_id: str) -> pa.Table:
    rows = [
        {
            "signal_id": s.signal_id, "kind": s.kind, "subtype": s.subtype, "score": s.score,
            "intensity": s.intensity, "sentence": s.sentence, "sentence_idx": s.sentence_idx,
            "source_type": s.source_type, "source_key": s.source_key, "utterance_seq": s.utterance_seq,
            "start_s": s.start_s, "thread_id": s.thread_id, "account_id": s.account_id, "speaker": s.speaker,
            "party": s.party,
            "occurred_at": s.occurred_at.astimezone(UTC) if s.occurred_at and s.occurred_at.tzinfo
            else (s.occurred_at.replace(tzinfo=UTC) if s.occurred_at else None),
            "due_date": s.due_date, "rules": list(s.rules), "detector": s.detector,
            "detector_version": s.detector_version, "link": s.link, "created_at": now, "run_id": run_id,
        }
        for s in signals
    ]
    schema = pa.schema(_SIGNAL_COLUMNS)
    return pa.Table.from_pylist(rows, schema=schema)


def load_cache(db: Database, model: str) -> int:
    """Load ``model``'s persistent score cache into this process (one read phase); returns the entries."""

    cache = get_cache(model)
    with db.read() as con:
        query = con.execute("SELECT key, scores, subtypes FROM sentence_cache WHERE model = ?", [model])
        table = query.fetch_arrow_table()  # a table, not a reader: a reader keeps the file open
    return cache.load_table(table)


def _write_cache(con: Any, model: str, rows: Sequence[CacheRow], now: datetime, max_entries: int) -> None:
    """Add ``rows``; drop other models' entries and, beyond ``max_entries``, the oldest."""

    con.execute("DELETE FROM sentence_cache WHERE model <> ?", [model])
    if rows:
        con.register("new_cache", rows_table(model, rows))
        con.execute("INSERT INTO sentence_cache SELECT model, key, scores, subtypes, ? FROM new_cache "
                    "ON CONFLICT DO NOTHING", [now])
        con.unregister("new_cache")
    (n,) = con.execute("SELECT count(*) FROM sentence_cache").fetchone() or (0,)
    if n > max_entries:
        con.execute("DELETE FROM sentence_cache WHERE key IN (SELECT key FROM sentence_cache "
                    "ORDER BY created_at, key LIMIT ?)", [n - max_entries])


def write_signals(
    db: Database,
    units: Sequence[TextUnit],
    signals: Sequence[Signal],
    run_id: str,
    sentences: dict[tuple[str, str], int],
    cache: tuple[str, Sequence[CacheRow], int] | None = None,
) -> DetectReport:
    """Store one scored batch in one transaction (see the module docstring); with ``cache`` = (model,
    rows, max entries), also the score-cache entries the batch created."""
    sources: dict[tuple[str, str], TextUnit] = {}
    for u in units:
        if u.pipeline_version is None:
            raise DetectorError(
                f"unit {u.source_type}/{u.source_key} has no pipeline_version; units must come from pending_batches"
            )
        sources.setdefault((u.source_type, u.source_key), u)
    versions = {u.pipeline_version for u in sources.values()}
    if len(versions) > 1:
        raise DetectorError(f"one batch mixes pipeline versions: {sorted(v or '' for v in versions)}")
    unknown = {(s.source_type, s.source_key) for s in signals} - set(sources)
    if unknown:
        raise DetectorError(f"signals for sources not in this batch: {sorted(unknown)[:3]}")
    unread: dict[tuple[str, str], int] = {}
    for u in units:
        if u.unread:
            unread[(u.source_type, u.source_key)] = unread.get((u.source_type, u.source_key), 0) + 1
    now = datetime.now(UTC)
    table = _signals_table(signals, now, run_id)
    keep = pa.table({"source_type": [s.source_type for s in signals], "source_key": [s.source_key for s in signals],
                     "signal_id": [s.signal_id for s in signals]},
                    schema=pa.schema([("source_type", pa.string()), ("source_key", pa.string()),
                                      ("signal_id", pa.string())]))
    srcs = pa.table({
        "source_type": [k[0] for k in sources], "source_key": [k[1] for k in sources],
        "pipeline_version": [u.pipeline_version for u in sources.values()],
        "content_sha256": [content_sha256(u) for u in sources.values()],
        "sentences": [sentences.get(k, 0) for k in sources],
        "unread_units": [unread.get(k, 0) for k in sources],
    }, schema=pa.schema([("source_type", pa.string()), ("source_key", pa.string()),
                         ("pipeline_version", pa.string()), ("content_sha256", pa.string()),
                         ("sentences", pa.int32()), ("unread_units", pa.int32())]))
    with db.write() as con:
        con.register("new_signals", table)
        con.register("keep_signals", keep)
        con.register("scored_sources", srcs)
        before = con.execute("SELECT count(*) FROM signals").fetchone()
        con.execute("INSERT INTO signals SELECT * FROM new_signals ON CONFLICT DO NOTHING")
        after = con.execute("SELECT count(*) FROM signals").fetchone()
        con.execute(
            """
            DELETE FROM signals s
            WHERE EXISTS (SELECT 1 FROM scored_sources c
                          WHERE c.source_type = s.source_type AND c.source_key = s.source_key)
              AND NOT EXISTS (SELECT 1 FROM keep_signals k WHERE k.signal_id = s.signal_id)
            """
        )
        con.execute(
            """
            DELETE FROM detections d
            WHERE EXISTS (SELECT 1 FROM scored_sources c
                          WHERE c.source_type = d.source_type AND c.source_key = d.source_key)
            """
        )
        con.execute(
            "INSERT INTO detections (source_type, source_key, pipeline_version, sentences, detected_at, run_id,"
            " content_sha256, unread_units) SELECT source_type, source_key, pipeline_version, sentences, ?, ?,"
            " content_sha256, unread_units FROM scored_sources",
            [now, run_id],
        )
        for name in ("new_signals", "keep_signals", "scored_sources"):
            con.unregister(name)
        if cache is not None and cache[2] > 0:
            _write_cache(con, cache[0], cache[1], now, cache[2])
    by_kind: dict[str, int] = {}
    for s in signals:
        by_kind[s.kind] = by_kind.get(s.kind, 0) + 1
    inserted = (after[0] if after else 0) - (before[0] if before else 0)
    return DetectReport(units=len(units), sentences=sum(sentences.get(k, 0) for k in sources),
                        signals=inserted, by_kind=by_kind, unread=sum(unread.values()))
