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

* Names are stored losslessly as text (:func:`triage.localfiles.escape_name`: a byte that is not
  UTF-8 becomes ``\\xNN``, a backslash ``\\\\``), so any file name can be stored and recognised again.
* Links are followed only to files inside the source root: a link that leaves it is quarantined
  ``outside_source`` (never read); a link loop, a dangling link, a FIFO or a file or folder that
  cannot be read is quarantined ``unreadable`` with the OS error. Folder links are never walked.

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
    store_batches,
)
from triage.ingest.watermarks import known_locations
from triage.localfiles import Refused, escape_name, read_inside, resolve_inside
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
    folder: str  # escaped (triage.localfiles.escape_name)
    location: str  # path relative to the source root, POSIX separators, escaped
    path: Path
    #: set when the scan already knows the item cannot be read (a folder it cannot list, a folder
    #: link that leaves the root)
    refused: Refused | None = None


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


def _rel(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix()
    return "." if rel == "." else escape_name(rel)


def _join(rel_dir: str, name: str) -> str:
    return escape_name(name) if rel_dir == "." else f"{rel_dir}/{escape_name(name)}"


def _folder_links(root: Path, here: Path, rel_dir: str, folder: str, dirnames: list[str]) -> Iterator[MailFile]:
    """Folder links are never walked (``os.walk(followlinks=False)``); one that leaves the root is
    reported, one inside it is skipped (its files are read under their real path)."""
    for d in list(dirnames):
        link = here / d
        if not link.is_symlink():
            continue
        dirnames.remove(d)
        target = resolve_inside(link, root)
        if isinstance(target, Refused):
            yield MailFile(folder, _join(rel_dir, d), link, target)
        else:
            log.info(
                "%s links to %s inside the source; read there, not through the link",
                escape_name(link),
                escape_name(target),
            )


def scan_tree(root: Path) -> Iterator[MailFile]:
    """Every message file under ``root`` in a stable order (directory by directory, names sorted).

    Folders that cannot be listed and folder links that leave ``root`` come out as refused items.
    """
    unlisted: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlisted.append):
        yield from _unlisted(root, unlisted)
        here = Path(dirpath)
        rel_dir = _rel(root, here)
        maildir = _is_maildir(here)
        if maildir:
            folder = _MAILDIR_ROOT_FOLDER if rel_dir == "." else rel_dir
            for part in _MAILDIR_PARTS:
                sub = here / part
                if not sub.is_dir():
                    continue
                try:
                    entries = sorted(os.scandir(sub), key=lambda e: os.fsencode(e.name))
                except OSError as e:
                    why = Refused("unreadable", f"cannot list folder {escape_name(sub)}: {e.strerror or e}")
                    yield MailFile(folder, _join(rel_dir, part), sub, why)
                    continue
                for entry in entries:
                    if entry.name.startswith(".") or (entry.is_dir(follow_symlinks=False)):
                        continue
                    yield MailFile(folder, _join(rel_dir, f"{part}/{entry.name}"), Path(entry.path))
            dirnames[:] = sorted(
                d
                for d in dirnames
                if d not in (*_MAILDIR_PARTS, "tmp") and (not d.startswith(".") or _is_maildir(here / d))
            )
            yield from _folder_links(root, here, rel_dir, folder, dirnames)
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") or _is_maildir(here / d))
        yield from _folder_links(root, here, rel_dir, rel_dir, dirnames)
        for name in sorted(filenames, key=os.fsencode):
            if name.startswith("."):
                continue
            yield MailFile(rel_dir, _join(rel_dir, name), here / name)
    yield from _unlisted(root, unlisted)


def _unlisted(root: Path, errors: list[OSError]) -> Iterator[MailFile]:
    """Folders ``os.walk`` could not list (it reports them through ``onerror``)."""
    while errors:
        err = errors.pop(0)
        where = Path(os.fsdecode(err.filename)) if err.filename else root
        rel = _rel(root, where) if where.is_relative_to(root) else "."
        why = Refused("unreadable", f"cannot list folder {escape_name(where)}: {err.strerror or err}")
        yield MailFile(rel, rel, where, why)


def _read(item: MailFile, root: Path, max_bytes: int) -> FetchedMessage | QuarantinedItem | None:
    """Read one file, or say why it goes to quarantine (None: it was moved away since the scan)."""
    got = item.refused or read_inside(item.path, root, max_bytes, head_bytes=HEADER_SCAN_BYTES)
    if isinstance(got, Refused):
        if got.reason == "unreadable" and item.refused is None and not os.path.lexists(item.path):
            # a mail client moved it (Maildir new/ -> cur/); its new name is picked up next time
            log.info("%s disappeared while reading the folder; skipped", escape_name(item.path))
            return None
        if got.reason == "too_large":
            return QuarantinedItem(
                item.location,
                "too_large",
                f"{got.size_bytes:,} bytes is over max_message_bytes = {max_bytes:,}; not stored",
                got.size_bytes,
                identify_header(got.head),
            )
        return QuarantinedItem(item.location, got.reason, got.detail)
    raw, st = got
    if is_empty_message(raw):
        return QuarantinedItem(
            item.location, "empty", f"{escape_name(item.path)} is empty ({len(raw)} bytes)", len(raw)
        )
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
        raise IngestError(
            f"mail folder of source {src.name!r} not found: {escape_name(root)} (sources.local.path)"
        )
    root = root.resolve()
    seen = known_locations(db, src.name)
    files = [f for f in scan_tree(root) if (f.folder, f.location) not in seen]
    by_folder: dict[str, list[MailFile]] = {}
    for f in files:
        by_folder.setdefault(f.folder, []).append(f)
    report = IngestReport(source=src.name, folders=len({folder for folder, _ in seen} | set(by_folder)))
    log.info(
        "source %s: %d new file(s) in %d folder(s) under %s", src.name, len(files), len(by_folder), escape_name(root)
    )
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
                got = _read(item, root, src.max_message_bytes)
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
    report.suppressed = total.suppressed
    return report
