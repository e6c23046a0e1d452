"""The transcript stage: scan the transcript folders, parse new or changed files, store or quarantine.

* ``transcript_key`` = sha256 of the file content: unchanged content is skipped; a file whose
  content changed replaces its old version (old transcript, utterances, and the ``signals`` and
  ``detections`` rows of the old key are deleted in the same transaction).
* Account: a folder named after an account id (nearest first), a ``<account_id>__`` file name
  prefix, else the account most speakers belong to (contacts' names), else NULL (logged).
* Meeting date: ``YYYY-MM-DD`` in the file name, else a ``date:`` / ``NOTE date:`` line (or a JSON
  ``date`` key), else the file's modification time.
* Speaker role: internal (org.internal_people, owner AMs, contacts with our domains), client
  (contacts of an account, or any other named speaker in a meeting of a known account), unknown.
* Broken files go to quarantine (kind ``transcript``, item_key = hash of the path) with a reason;
  the run goes on. A file that later parses leaves quarantine.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from triage.db import Database
from triage.errors import TranscriptError
from triage.log import get_logger
from triage.parse import store
from triage.parse.accounts import AccountBook
from triage.parse.transcripts import TranscriptDoc, parse_transcript
from triage.progress import track
from triage.types import TranscriptReport, stable_id

__all__ = ["PARSER_VERSION", "ingest_transcripts", "meeting_link", "scan"]

log = get_logger("parse.meetings")

PARSER_VERSION = "transcripts.v1"
BATCH_FILES = 50
_GENERIC_SPEAKER = re.compile(r"^(?:speaker|participant|unknown|guest|user|caller|note)\s*\d*$", re.I)
_FILE_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[T_ ](\d{2})[-:h]?(\d{2}))?(?!\d)")

_TRANSCRIPTS = pa.schema(
    [
        ("transcript_key", pa.string()),
        ("path", pa.string()),
        ("format", pa.string()),
        ("title", pa.string()),
        ("meeting_at", store.TS),
        ("account_id", pa.string()),
        ("utterance_count", pa.int32()),
        ("link", pa.string()),
        ("parsed_at", store.TS),
        ("parser_version", pa.string()),
    ]
)
_UTTERANCES = pa.schema(
    [
        ("transcript_key", pa.string()),
        ("seq", pa.int32()),
        ("speaker", pa.string()),
        ("role", pa.string()),
        ("start_s", pa.float64()),
        ("end_s", pa.float64()),
        ("text", pa.string()),
    ]
)


def meeting_link(path: Path, start_s: float | None = None) -> str:
    """``file:///abs/path`` of a transcript, with ``#t=<start_s>`` for a moment in it."""
    uri = path.resolve().as_uri()
    return f"{uri}#t={start_s:g}" if start_s is not None else uri


def scan(paths: Sequence[Path]) -> Iterator[tuple[Path, Path]]:
    """(configured root, file) for every non-hidden file under the roots, in sorted order."""
    for root in paths:
        root = Path(root).expanduser()
        if not root.exists():
            log.warning("transcripts folder %s does not exist (transcripts.paths); skipped", root)
            continue
        if root.is_file():
            yield root.parent, root
            continue
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root).parts
            if any(p.startswith(".") for p in rel) or not f.is_file():
                continue
            yield root, f


def _file_account(root: Path, path: Path, book: AccountBook) -> str | None:
    ids = {a.lower(): a for a in book.accounts}
    for folder in reversed(path.relative_to(root).parts[:-1]):
        if folder in book.accounts:
            return folder
        if folder.lower() in ids:
            return ids[folder.lower()]
    if "__" in path.name:
        prefix = path.name.split("__", 1)[0]
        if prefix in book.accounts:
            return prefix
        if prefix.lower() in ids:
            return ids[prefix.lower()]
    return None


def _meeting_at(path: Path, doc: TranscriptDoc, mtime: float) -> datetime:
    m = _FILE_DATE.search(path.name)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), tzinfo=UTC)
        except ValueError:
            pass
    if doc.meeting_date is not None:
        d: date = doc.meeting_date
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    return datetime.fromtimestamp(mtime, tz=UTC)


def _roles(doc: TranscriptDoc, book: AccountBook, account: str | None) -> tuple[str | None, list[str]]:
    """(account, role per utterance): the speakers' account fills in a missing file account."""
    people = {u.speaker: book.person(u.speaker) for u in doc.utterances}
    if account is None:
        votes = Counter(acc for role, acc in people.values() if role == "client" and acc)
        if votes:
            account = votes.most_common(1)[0][0]
    roles = []
    for u in doc.utterances:
        role, _ = people[u.speaker]
        if role == "unknown" and account and u.speaker and not _GENERIC_SPEAKER.match(u.speaker.strip()):
            role = "client"
        roles.append(role)
    return account, roles


@dataclass
class _Parsed:
    key: str
    path: Path
    transcript: dict[str, Any]
    utterances: list[dict[str, Any]]


def _quarantine(path: Path, reason: str, detail: str, size: int | None) -> store.QuarantineItem:
    return store.QuarantineItem(
        kind="transcript",
        item_key=stable_id("transcript", str(path.resolve()), length=32),
        source="transcripts",
        location=str(path.resolve()),
        stage="parse",
        reason=reason,
        detail=detail,
        size_bytes=size,
    )


def ingest_transcripts(
    db: Database, book: AccountBook, paths: Sequence[Path], max_bytes: int, run_id: str
) -> TranscriptReport:
    """Parse new and changed transcript files under ``paths`` (see the module docstring)."""
    report = TranscriptReport()
    with db.read() as con:
        known = dict(con.execute("SELECT transcript_key, path FROM transcripts").fetchall())
    by_path = {p: k for k, p in known.items()}
    already_quarantined = store.quarantined_keys(db, "transcript")
    files = list(scan(paths))
    pending: list[_Parsed] = []
    seen_keys: set[str] = set()
    bad: list[store.QuarantineItem] = []
    cleared: list[str] = []
    with track("Reading transcripts", len(files)) as progress:
        for root, path in files:
            progress.advance()
            qkey = stable_id("transcript", str(path.resolve()), length=32)
            try:
                st = path.stat()
                if st.st_size > max_bytes:
                    bad.append(
                        _quarantine(
                            path,
                            "too_large",
                            f"{st.st_size} bytes > transcripts.max_bytes ({max_bytes})",
                            st.st_size,
                        )
                    )
                    continue
                data = path.read_bytes()
            except OSError as e:
                bad.append(_quarantine(path, "unreadable", e.strerror or str(e), None))
                continue
            key = hashlib.sha256(data).hexdigest()
            if key in known or key in seen_keys:
                report.skipped += 1
                if qkey in already_quarantined:
                    cleared.append(qkey)
                continue
            try:
                doc = parse_transcript(data, path.suffix)
            except TranscriptError as e:
                bad.append(_quarantine(path, e.reason, e.detail, len(data)))
                continue
            pending.append(_build(key, root, path, doc, book, st.st_mtime))
            seen_keys.add(key)
            cleared.append(qkey)
            if len(pending) >= BATCH_FILES:
                _write(db, pending, by_path, cleared, run_id, report)
                pending, cleared = [], []
    _write(db, pending, by_path, cleared, run_id, report)
    if bad:
        with db.write() as con:
            store.upsert_quarantine(con, bad, datetime.now(UTC), run_id)
        for q in bad:
            log.warning("quarantined transcript %s (%s): %s", q.location, q.reason, q.detail)
    report.quarantined = sum(1 for q in bad if q.item_key not in already_quarantined)
    return report


def _build(key: str, root: Path, path: Path, doc: TranscriptDoc, book: AccountBook, mtime: float) -> _Parsed:
    account, roles = _roles(doc, book, _file_account(root, path, book))
    if account is None:
        log.info("transcript %s: no account (no account folder, prefix or known speaker)", path)
    now = datetime.now(UTC)
    return _Parsed(
        key=key,
        path=path,
        transcript={
            "transcript_key": key,
            "path": str(path.resolve()),
            "format": doc.format,
            "title": doc.title or path.stem,
            "meeting_at": _meeting_at(path, doc, mtime),
            "account_id": account,
            "utterance_count": len(doc.utterances),
            "link": meeting_link(path),
            "parsed_at": now,
            "parser_version": PARSER_VERSION,
        },
        utterances=[
            {
                "transcript_key": key,
                "seq": i,
                "speaker": u.speaker,
                "role": roles[i],
                "start_s": u.start_s,
                "end_s": u.end_s,
                "text": u.text,
            }
            for i, u in enumerate(doc.utterances)
        ],
    )


def _write(
    db: Database,
    parsed: list[_Parsed],
    by_path: dict[str, str],
    cleared: list[str],
    run_id: str,
    report: TranscriptReport,
) -> None:
    if not parsed and not cleared:
        return
    old = [by_path[p.transcript["path"]] for p in parsed if p.transcript["path"] in by_path]
    with db.write() as con:
        store.quiet(con)
        if old:
            con.execute("DELETE FROM utterances WHERE transcript_key IN (SELECT unnest(?))", [old])
            con.execute("DELETE FROM transcripts WHERE transcript_key IN (SELECT unnest(?))", [old])
            con.execute(
                "DELETE FROM signals WHERE source_type = 'meeting' AND source_key IN (SELECT unnest(?))",
                [old],
            )
            con.execute(
                "DELETE FROM detections WHERE source_type = 'meeting' AND source_key IN (SELECT unnest(?))",
                [old],
            )
        store.insert_arrow(con, "transcripts", store.arrow_table([p.transcript for p in parsed], _TRANSCRIPTS))
        store.insert_arrow(con, "utterances", store.arrow_table([u for p in parsed for u in p.utterances], _UTTERANCES))
        store.delete_quarantine(con, "transcript", cleared)
    for p in parsed:
        if p.transcript["path"] in by_path:
            log.info("transcript %s changed; replaced its old version", p.path)
        by_path[p.transcript["path"]] = p.key
    report.parsed += len(parsed)
    report.utterances += sum(len(p.utterances) for p in parsed)
