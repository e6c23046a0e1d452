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
* Language of each turn (:func:`triage.parse.language.identify`): ``utterances.language``.
* Broken files go to quarantine (kind ``transcript``, item_key = hash of the path) with a reason;
  the run goes on. A file that later parses leaves quarantine. Each file is parsed under the
  ``[parse]`` time budget (``parse_timeout``).
* Links are followed only to files inside the configured folder (``outside_source`` otherwise);
  loops, dangling links, FIFOs and unreadable files or folders are ``unreadable``. Paths are stored
  with :func:`triage.localfiles.escape_name`, so any file name (bytes that are not UTF-8) is kept.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from triage.db import Database
from triage.errors import ParseError
from triage.localfiles import Refused, escape_name, read_inside, resolve_inside
from triage.log import get_logger
from triage.parse import store
from triage.parse.accounts import AccountBook
from triage.parse.budget import Budget, ParseLimits
from triage.parse.charsets import decode_bytes
from triage.parse.language import identify, identify_stored
from triage.parse.transcripts import TranscriptDoc, parse_transcript
from triage.privacy.suppress import Suppressions, load_suppressions
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
        ("language", pa.string()),
    ]
)


def meeting_link(path: Path, start_s: float | None = None) -> str:
    """``file:///abs/path`` of a transcript, with ``#t=<start_s>`` for a moment in it."""
    uri = path.resolve().as_uri()
    return f"{uri}#t={start_s:g}" if start_s is not None else uri


def scan(paths: Sequence[Path]) -> Iterator[tuple[Path, Path, Refused | None]]:
    """(configured root, file, why it cannot be read) for every non-hidden file under the roots.

    Sorted by path. Folder links are not walked; one that leaves its root comes out refused
    (``outside_source``), and so does a folder that cannot be listed (``unreadable``). File links
    are checked when the file is read (:func:`triage.localfiles.read_inside`).
    """
    for root in paths:
        root = Path(root).expanduser()
        if not root.exists():
            log.warning("transcripts folder %s does not exist (transcripts.paths); skipped", escape_name(root))
            continue
        if root.is_file():
            yield root.parent, root, None
            continue
        real_root = root.resolve()
        found: list[tuple[Path, Path, Refused | None]] = []
        unlisted: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlisted.append):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for d in list(dirnames):
                if (here / d).is_symlink():
                    dirnames.remove(d)
                    target = resolve_inside(here / d, real_root)
                    if isinstance(target, Refused):
                        found.append((root, here / d, target))
            found += [(root, here / n, None) for n in filenames if not n.startswith(".")]
        for err in unlisted:
            where = Path(os.fsdecode(err.filename)) if err.filename else root
            why = Refused("unreadable", f"cannot list folder {escape_name(where)}: {err.strerror or err}")
            found.append((root, where, why))
        yield from sorted(found, key=lambda f: f[1])


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


def _location(path: Path, readable: bool) -> str:
    """Where a transcript is, as stored: its real path; a link that cannot be read: the link itself."""
    return escape_name(os.path.realpath(path) if readable else os.path.abspath(path))


def _quarantine(location: str, reason: str, detail: str, size: int | None) -> store.QuarantineItem:
    return store.QuarantineItem(
        kind="transcript",
        item_key=stable_id("transcript", location, length=32),
        source="transcripts",
        location=location,
        stage="parse",
        reason=reason,
        detail=detail,
        size_bytes=size,
    )


def _parse_one(data: bytes, path: Path, limits: ParseLimits | None) -> TranscriptDoc | store.QuarantineItem:
    """One transcript parsed under its budget, or its quarantine row: no file can stop the stage."""
    location = _location(path, True)
    try:
        return parse_transcript(data, path.suffix, Budget(limits))
    except ParseError as e:  # TranscriptError, or the budget's parse_timeout
        return _quarantine(location, e.reason, e.detail, len(data))
    except (MemoryError, RecursionError) as e:
        return _quarantine(location, "too_large" if isinstance(e, MemoryError) else "too_deep", repr(e), len(data))
    except Exception as e:  # a parser bug on one odd file: quarantine it, keep the night going
        log.debug("parsing transcript %s failed", location, exc_info=True)
        return _quarantine(location, "parse_failed", f"{type(e).__name__}: {e}", len(data))


def ingest_transcripts(
    db: Database,
    book: AccountBook,
    paths: Sequence[Path],
    max_bytes: int,
    run_id: str,
    *,
    limits: ParseLimits | None = None,
) -> TranscriptReport:
    """Parse new and changed transcript files under ``paths`` (see the module docstring)."""
    report = TranscriptReport()
    with db.read() as con:
        known = dict(con.execute("SELECT transcript_key, path FROM transcripts").fetchall())
        suppressed = load_suppressions(con)
    by_path = {p: k for k, p in known.items()}
    already_quarantined = store.quarantined_keys(db, "transcript")
    files = list(scan(paths))
    pending: list[_Parsed] = []
    seen_keys: set[str] = set()
    bad: list[store.QuarantineItem] = []
    cleared: list[str] = []
    real_roots: dict[Path, Path] = {}
    with track("Reading transcripts", len(files)) as progress:
        for root, path, refused in files:
            progress.advance()
            real_root = real_roots.setdefault(root, root.resolve())
            got = refused or read_inside(path, real_root, max_bytes)
            if isinstance(got, Refused):
                if got.reason == "too_large":
                    detail = f"{got.size_bytes} bytes > transcripts.max_bytes ({max_bytes})"
                    bad.append(_quarantine(_location(path, True), "too_large", detail, got.size_bytes))
                else:
                    bad.append(_quarantine(_location(path, False), got.reason, got.detail, None))
                continue
            data, st = got
            location = _location(path, True)
            qkey = stable_id("transcript", location, length=32)
            key = hashlib.sha256(data).hexdigest()
            if key in known or key in seen_keys or suppressed.has("transcript", key):
                report.skipped += 1
                if qkey in already_quarantined:
                    cleared.append(qkey)
                continue
            doc = _parse_one(data, path, limits)
            if isinstance(doc, store.QuarantineItem):
                bad.append(doc)
                continue
            built = _build(key, root, path, doc, book, st.st_mtime)
            if suppressed and not _suppress(built, suppressed):
                report.skipped += 1
                continue
            pending.append(built)
            seen_keys.add(key)
            cleared.append(qkey)
            if len(pending) >= BATCH_FILES:
                _write(db, pending, by_path, cleared, run_id, report)
                pending, cleared = [], []
    _write(db, pending, by_path, cleared, run_id, report)
    identify_stored(db, "utterances")
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
        log.info("transcript %s: no account (no account folder, prefix or known speaker)", escape_name(path))
    now = datetime.now(UTC)
    return _Parsed(
        key=key,
        path=path,
        transcript={
            "transcript_key": key,
            "path": _location(path, True),
            "format": doc.format,
            "title": doc.title or decode_bytes(os.fsencode(path.stem), None)[0],  # any name bytes
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
                "language": identify(u.text),
            }
            for i, u in enumerate(doc.utterances)
        ],
    )


def _suppress(parsed: _Parsed, suppressed: Suppressions) -> bool:
    """Drop the turns of erased people; False when the whole meeting belongs to an erased account."""
    if suppressed.has("account", parsed.transcript["account_id"]):
        log.info("transcript %s: its account was erased (`triage forget --account`); not stored",
                 escape_name(parsed.path))
        return False
    kept = [u for u in parsed.utterances if not suppressed.has("speaker", u["speaker"])]
    if len(kept) < len(parsed.utterances):
        log.info("transcript %s: %d turn(s) of erased people not stored", escape_name(parsed.path),
                 len(parsed.utterances) - len(kept))
        parsed.utterances = kept
        parsed.transcript["utterance_count"] = len(kept)
    return True


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
            log.info("transcript %s changed; replaced its old version", escape_name(p.path))
        by_path[p.transcript["path"]] = p.key
    report.parsed += len(parsed)
    report.utterances += sum(len(p.utterances) for p in parsed)
