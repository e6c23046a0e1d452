"""Local mail folders: a Maildir tree (folders with cur/new/tmp) or a tree of RFC 822 files.

* A directory that has ``cur/`` or ``new/`` is a Maildir folder: its messages are the files in
  ``cur/`` and ``new/`` (``tmp/`` holds deliveries in progress and is skipped, as are the folder's own
  metadata files such as ``dovecot-uidlist``). The folder name is the directory's path relative to the
  source root (``INBOX`` for a Maildir root itself).
* Any other directory is a plain folder: every file in it is one message (``.eml`` or no extension,
  like Enron's ``allen-p/inbox/1.``); the folder name is the relative directory path (``.`` at the root).
* Hidden files and directories (``.DS_Store``, ``.git``) are skipped, except Maildir++ subfolders
  (``.Sent``), which are directories with ``cur/``/``new/``.
* A folder is a Sent folder when any component of its path matches ``sent_folders`` (case-insensitive;
  Maildir++ ``.INBOX.Sent`` counts by its dotted parts).

Incremental: a file already recorded in ``message_locations`` (source, folder, uidvalidity 0, path
relative to the root) is skipped without reading it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from triage.db import Database
from triage.errors import IngestError
from triage.ingest.keys import HEADER_SCAN_BYTES, identify_header, is_empty_message
from triage.ingest.store import (
    Batch,
    BatchResult,
    FetchedMessage,
    QuarantinedItem,
    known_locations,
    store_batches,
)
from triage.log import get_logger
from triage.progress import track
from triage.settings import LocalSourceSettings
from triage.types import IngestReport

__all__ = ["MailFile", "is_sent_folder", "scan_tree", "sync_local"]

log = get_logger("ingest.local")

_MAILDIR_PARTS = ("cur", "new")
_BATCH_FILES = 500
_BATCH_BYTES = 64 * 1024 * 1024
_MAILDIR_ROOT_FOLDER = "INBOX"


@dataclass(frozen=True)
class MailFile:
    folder: str
    location: str  # path relative to the source root, POSIX separators
    path: Path


def is_sent_folder(folder: str, sent_folders: list[str]) -> bool:
    """True when any component of ``folder`` names a Sent folder (case-insensitive)."""
    wanted = {s.lower() for s in sent_folders}
    for part in folder.replace("\\", "/").split("/"):
        names = {part.lower(), *(p.lower() for p in part.split(".") if p)}
        if names & wanted:
            return True
    return False


def _is_maildir(path: Path) -> bool:
    return any((path / p).is_dir() for p in _MAILDIR_PARTS)


def scan_tree(root: Path) -> Iterator[MailFile]:
    """Every message file under ``root`` in a stable order (directory by directory, names sorted)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(root).as_posix()
        maildir = _is_maildir(here)
        if maildir:
            folder = _MAILDIR_ROOT_FOLDER if rel_dir == "." else rel_dir
            for part in _MAILDIR_PARTS:
                sub = here / part
                if not sub.is_dir():
                    continue
                for entry in sorted(os.scandir(sub), key=lambda e: e.name):
                    if entry.name.startswith(".") or entry.is_dir():
                        continue
                    yield MailFile(
                        folder, f"{rel_dir}/{part}/{entry.name}".removeprefix("./"), Path(entry.path)
                    )
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in (*_MAILDIR_PARTS, "tmp") and (not d.startswith(".") or _is_maildir(here / d))
            )
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") or _is_maildir(here / d))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            location = name if rel_dir == "." else f"{rel_dir}/{name}"
            yield MailFile(rel_dir, location, here / name)


def _read(item: MailFile, max_bytes: int) -> FetchedMessage | QuarantinedItem | None:
    """Read one file, or say why it goes to quarantine (None: it was moved away since the scan)."""
    try:
        st = item.path.stat()
        if st.st_size > max_bytes:
            with item.path.open("rb") as fh:
                head = fh.read(HEADER_SCAN_BYTES)
            return QuarantinedItem(
                item.location,
                "too_large",
                f"{st.st_size:,} bytes is over max_message_bytes = {max_bytes:,}; not stored",
                st.st_size,
                identify_header(head),
            )
        raw = item.path.read_bytes()
    except OSError as e:
        if isinstance(e, FileNotFoundError) and not os.path.lexists(item.path):
            # a mail client moved it (Maildir new/ -> cur/); its new name is picked up next time
            log.info("%s disappeared while reading the folder; skipped", item.path)
            return None
        reason = e.strerror or type(e).__name__
        return QuarantinedItem(item.location, "unreadable", f"cannot read {item.path}: {reason}")
    if is_empty_message(raw):
        return QuarantinedItem(item.location, "empty", f"{item.path} is empty ({len(raw)} bytes)", len(raw))
    return FetchedMessage(
        raw=raw,
        location=item.location,
        link=item.path.absolute().as_uri(),
        internal_date=datetime.fromtimestamp(st.st_mtime, UTC),
    )


def sync_local(src: LocalSourceSettings, db: Database, run_id: str) -> IngestReport:
    """Store every file of a local mail folder not seen before; quarantine the bad ones."""
    root = Path(src.path).expanduser()
    if not root.is_dir():
        raise IngestError(f"mail folder of source {src.name!r} not found: {root} (sources.local.path)")
    root = root.resolve()
    seen = known_locations(db, src.name)
    files = [f for f in scan_tree(root) if (f.folder, f.location) not in seen]
    by_folder: dict[str, list[MailFile]] = {}
    for f in files:
        by_folder.setdefault(f.folder, []).append(f)
    report = IngestReport(source=src.name, folders=len({folder for folder, _ in seen} | set(by_folder)))
    log.info("source %s: %d new file(s) in %d folder(s) under %s", src.name, len(files), len(by_folder), root)
    total = BatchResult()
    pending: list[Batch] = []
    items_pending = bytes_pending = 0

    def flush() -> None:
        nonlocal total, pending, items_pending, bytes_pending
        if pending:
            total += store_batches(db, pending, run_id)
            progress.advance(items_pending)
        pending, items_pending, bytes_pending = [], 0, 0

    # many small folders share one transaction; a transaction holds at most _BATCH_FILES / _BATCH_BYTES
    with track(f"Reading {src.name}", total=len(files)) as progress:
        for folder, items in by_folder.items():
            batch = Batch(src.name, folder, 0, is_sent_folder(folder, src.sent_folders))
            pending.append(batch)
            for item in items:
                got = _read(item, src.max_message_bytes)
                items_pending += 1
                if isinstance(got, FetchedMessage):
                    batch.messages.append(got)
                    bytes_pending += len(got.raw)
                elif got is not None:
                    batch.quarantined.append(got)
                if items_pending >= _BATCH_FILES or bytes_pending >= _BATCH_BYTES:
                    flush()
                    batch = Batch(src.name, folder, 0, batch.is_sent_folder)
                    pending.append(batch)
        flush()
    report.fetched, report.already_known, report.quarantined = total.new, total.known, total.quarantined
    return report
