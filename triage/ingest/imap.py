"""IMAP source: incremental, read-only, resumable fetch of several folders into DuckDB.

* Connection: implicit TLS (default) or STARTTLS, both verifying the server certificate (``ca_file``
  for a private CA / self-signed server); plaintext only with ``allow_plaintext``. LOGIN or XOAUTH2 is
  never sent before the channel is encrypted unless plaintext was explicitly allowed.
* Folders are opened with EXAMINE (``readonly=True``) and bodies fetched with ``BODY.PEEK[]``, so no
  flag (``\\Seen``) changes on the server.
* Watermark per (source, folder): UIDVALIDITY + last UID in ``sync_state``, advanced in the same
  transaction that stores each batch. A changed UIDVALIDITY resyncs the folder from UID 1; the
  message_key makes that free of duplicates.
* Sizes (RFC822.SIZE) are fetched before bodies: a message over ``max_message_bytes`` is quarantined
  with only its Message-ID header fetched; an empty one is quarantined too; both count as handled.
* Errors are mapped at this boundary: bad credentials -> AuthenticationError, a dropped or timed-out
  connection -> ConnectionLostError (the flow retries it and the retry resumes from the watermark), a
  certificate that does not verify -> IngestError with a hint about ``ca_file``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from imapclient import IMAPClient

from triage.db import Database
from triage.errors import IngestError
from triage.ingest.imapconn import IMAP_ERRORS, ClientFactory, connect, map_error, session, where
from triage.ingest.keys import identify_header, is_empty_message
from triage.ingest.store import (
    Batch,
    BatchResult,
    FetchedMessage,
    QuarantinedItem,
    store_batch,
)
from triage.ingest.watermarks import read_watermark
from triage.log import get_logger
from triage.progress import track
from triage.settings import ImapSourceSettings
from triage.types import IngestReport

__all__ = ["ClientFactory", "connect", "imap_link", "plan_batches", "sync_imap"]

log = get_logger("ingest.imap")

#: cap on the bytes of one fetched batch, whatever batch_size says (memory stays bounded)
BATCH_MAX_BYTES = 64 * 1024 * 1024
# UIDs per size FETCH (each UID is spelled out on the command line: keep it well under 64 KB)
_SIZE_CHUNK = 1000
_BODY = b"BODY[]"
_FETCH_BODY = [b"BODY.PEEK[]", b"INTERNALDATE", b"RFC822.SIZE"]
_FETCH_MESSAGE_ID = [b"BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]


def imap_link(src: ImapSourceSettings, folder: str, uidvalidity: int, uid: int) -> str:
    """RFC 5092 style URL of one message (user and host only, never a secret)."""
    return (
        f"imap://{quote(src.username, safe='')}@{src.host}:{src.effective_port}/"
        f"{quote(folder, safe='/')};UIDVALIDITY={uidvalidity}/;UID={uid}"
    )


def plan_batches(
    uids: list[int],
    sizes: dict[int, int],
    batch_size: int,
    max_message_bytes: int,
    max_batch_bytes: int = BATCH_MAX_BYTES,
) -> list[list[int]]:
    """Split sorted UIDs into batches of at most ``batch_size`` messages and ``max_batch_bytes`` of
    bodies (messages over ``max_message_bytes`` are not fetched and weigh nothing)."""
    batches: list[list[int]] = []
    current: list[int] = []
    weight = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        body = size if size <= max_message_bytes else 0
        if current and (len(current) >= batch_size or weight + body > max_batch_bytes):
            batches.append(current)
            current, weight = [], 0
        current.append(uid)
        weight += body
    if current:
        batches.append(current)
    return batches


@dataclass
class _Folder:
    name: str
    is_sent: bool


def _folders(src: ImapSourceSettings) -> list[_Folder]:
    sent = set(src.sent_folders)
    names = list(dict.fromkeys([*src.folders, *src.sent_folders]))
    return [_Folder(n, n in sent) for n in names]


def _check_folders(client: IMAPClient, src: ImapSourceSettings, wanted: list[_Folder]) -> None:
    listed = client.list_folders()
    existing = [str(name) for _flags, _delim, name in listed]
    missing = [f.name for f in wanted if f.name not in existing and f.name.upper() != "INBOX"]
    if missing:
        sent_use = [str(name) for flags, _delim, name in listed if b"\\Sent" in flags]
        hint = f" The server marks {', '.join(map(repr, sent_use))} as the Sent folder." if sent_use else ""
        raise IngestError(
            f"folder(s) {', '.join(repr(m) for m in missing)} not found for user {src.username!r} on "
            f"{where(src)} (source {src.name!r}); folders there: {', '.join(sorted(existing)) or '(none)'}."
            f"{hint} Fix sources.imap.folders / sent_folders"
        )


def _new_uids(client: IMAPClient, start: int) -> list[int]:
    # "n:*" always matches the highest UID, even when it is below n: filter
    return sorted(int(u) for u in client.search(["UID", f"{start}:*"]) if int(u) >= start)


def _sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for i in range(0, len(uids), _SIZE_CHUNK):
        chunk = uids[i : i + _SIZE_CHUNK]
        for uid, data in client.fetch(chunk, [b"RFC822.SIZE"]).items():
            sizes[int(uid)] = int(data.get(b"RFC822.SIZE", 0))
    return sizes


def _as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _header_bytes(data: dict[bytes, Any]) -> bytes:
    for key, value in data.items():
        if key.startswith(b"BODY[HEADER") and isinstance(value, bytes):
            return value
    return b""


def _fetch_batch(
    client: IMAPClient,
    src: ImapSourceSettings,
    folder: _Folder,
    uidvalidity: int,
    uids: list[int],
    sizes: dict[int, int],
) -> Batch:
    batch = Batch(src.name, folder.name, uidvalidity, folder.is_sent, last_uid=max(uids))
    small = [u for u in uids if sizes.get(u, 0) <= src.max_message_bytes]
    big = [u for u in uids if sizes.get(u, 0) > src.max_message_bytes]
    bodies = client.fetch(small, _FETCH_BODY) if small else {}
    heads = client.fetch(big, _FETCH_MESSAGE_ID) if big else {}
    for uid in uids:
        place = f"{folder.name};UIDVALIDITY={uidvalidity}/;UID={uid}"
        if uid in big:
            size = sizes[uid]
            batch.quarantined.append(
                QuarantinedItem(
                    place,
                    "too_large",
                    f"{size:,} bytes is over max_message_bytes = {src.max_message_bytes:,}; body not fetched",
                    size,
                    identify_header(_header_bytes(heads.get(uid, {}))),
                )
            )
            continue
        if uid not in bodies:  # expunged between SEARCH and FETCH: nothing left to store
            log.info("source %s: %s vanished before it could be fetched", src.name, place)
            continue
        data: dict[bytes, Any] = bodies[uid]
        raw = data.get(_BODY)
        if not isinstance(raw, bytes):
            batch.quarantined.append(
                QuarantinedItem(
                    place, "no_body", f"the server returned no body for it ({raw!r})", sizes.get(uid)
                )
            )
            continue
        if is_empty_message(raw):
            batch.quarantined.append(
                QuarantinedItem(place, "empty", f"message is empty ({len(raw)} bytes)", len(raw))
            )
            continue
        batch.messages.append(
            FetchedMessage(
                raw=bytes(raw),
                location=str(uid),
                link=imap_link(src, folder.name, uidvalidity, uid),
                internal_date=_as_utc(data.get(b"INTERNALDATE")),
            )
        )
    return batch


def _sync_folder(
    client: IMAPClient, src: ImapSourceSettings, folder: _Folder, db: Database, run_id: str
) -> BatchResult:
    info = client.select_folder(folder.name, readonly=True)
    uidvalidity = int(info[b"UIDVALIDITY"])
    mark = read_watermark(db, src.name, folder.name)
    start = 1
    if mark is not None and mark[0] == uidvalidity:
        start = mark[1] + 1
    elif mark is not None:
        log.warning(
            "source %s folder %s: UIDVALIDITY changed (%d -> %d); resyncing it from UID 1 "
            "(messages already stored are not duplicated)",
            src.name,
            folder.name,
            mark[0],
            uidvalidity,
        )
    uids = _new_uids(client, start)
    total = BatchResult()
    if not uids:
        total += store_batch(db, Batch(src.name, folder.name, uidvalidity, folder.is_sent), run_id)
        return total
    sizes = _sizes(client, uids)
    log.info("source %s folder %s: %d new message(s) from UID %d", src.name, folder.name, len(uids), start)
    # Batch k is written (one transaction with its watermark) by a single writer thread while batch
    # k+1 is fetched: network + IMAP parsing overlap the DuckDB commit. Batches still commit in UID
    # order, one at a time, and leaving this block waits for the last write, even on an error.
    with (
        track(f"IMAP {src.name}/{folder.name}", total=len(uids)) as progress,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="triage-ingest-store") as writer,
    ):
        pending: tuple[Future[BatchResult], int] | None = None
        for uids_batch in plan_batches(uids, sizes, src.batch_size, src.max_message_bytes):
            batch = _fetch_batch(client, src, folder, uidvalidity, uids_batch, sizes)
            if pending is not None:
                total += pending[0].result()
                progress.advance(pending[1])
            pending = (writer.submit(store_batch, db, batch, run_id), len(uids_batch))
        if pending is not None:
            total += pending[0].result()
            progress.advance(pending[1])
    return total


def sync_imap(
    src: ImapSourceSettings, db: Database, run_id: str, *, client_factory: ClientFactory = connect
) -> IngestReport:
    """Fetch every new message of every configured folder; resumable and idempotent."""
    folders = _folders(src)
    report = IngestReport(source=src.name, folders=len(folders))
    total = BatchResult()
    doing = "connecting"
    try:
        with session(src, client_factory) as client:
            doing = "listing folders"
            _check_folders(client, src, folders)
            for folder in folders:
                doing = f"fetching folder {folder.name!r}"
                total += _sync_folder(client, src, folder, db, run_id)
    except IMAP_ERRORS as e:
        raise map_error(e, src, doing) from e
    report.fetched, report.already_known, report.quarantined = total.new, total.known, total.quarantined
    report.suppressed = total.suppressed
    log.info(
        "source %s: %d new, %d already known, %d quarantined",
        src.name,
        total.new,
        total.known,
        total.quarantined,
    )
    return report
