"""Erasure (``triage forget``): everything of one person or one account, out of the database for good.

What belongs to a person (an e-mail address):
* every message sent from, to or cc that address, or that contains it anywhere in its raw bytes
  (forwards and quoted replies carry the original ``From:`` line), with its raw bytes, its parsed
  row, where it was seen, its sentences' signals, asks, detections, dismiss feedback and quarantine rows;
* their turns in meeting transcripts, found by speaker name: the names the accounts file gives the
  address and the display names their mail was sent under; with those turns' signals and asks;
* their contact and unknown-sender rows.
What belongs to an account: all of the above for its messages (by account, or from/to one of its
domains), its transcripts, contacts, feedback, scores and list rows, and the account row.

Then the call lists of the days that showed the account are built again from what remains (the
evidence quotes were the person's words), threads are rebuilt, the HTML page is rewritten, and the
database file is rewritten (:func:`triage.db.encrypt.rewrite_database`) so the freed blocks leave no
byte behind. The erasure is recorded in ``erasures`` and the suppression list (``suppressions``)
keeps the address/names/messages/transcripts (salted hashes) from coming back on the next IMAP sync,
folder scan, transcript scan or accounts load. ``dry_run`` does the same deletes and rolls back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from triage.db import Database
from triage.errors import TriageError, UnknownAccountError
from triage.log import get_logger
from triage.privacy.suppress import header_addresses, read_salt, salted_hash
from triage.settings import Settings

__all__ = ["ForgetResult", "forget"]

log = get_logger("privacy.forget")
_SCAN_ROWS = 200


@dataclass
class ForgetResult:
    subject_kind: str  # address | account
    counts: dict[str, int] = field(default_factory=dict)
    erasure_id: str | None = None  # None for a dry run or when nothing was found
    rebuilt_days: list[date] = field(default_factory=list)
    dry_run: bool = False
    in_accounts_file: bool = False
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class _DryRun(Exception):
    """Control flow: roll the erasure's transaction back (a dry run)."""


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: Mapping[str, Sequence[object]]) -> None:
    con.register(name, pa.table({k: pa.array(v, pa.int64() if k == "seq" else pa.string())
                                 for k, v in columns.items()}))


def _scan_raw(con: duckdb.DuckDBPyConnection, address: str | None, domains: set[str]) -> set[str]:
    """Keys of raw messages whose bytes contain ``address``, or whose header addresses use a domain."""
    found: set[str] = set()
    needle = address.encode() if address else None
    cur = con.execute("SELECT message_key, raw FROM raw_messages WHERE raw IS NOT NULL")
    while rows := cur.fetchmany(_SCAN_ROWS):
        for key, raw in rows:
            data = bytes(raw)
            mentions = needle is not None and needle in data.lower()
            if mentions or (domains and {a.rsplit("@", 1)[-1] for a in header_addresses(data)} & domains):
                found.add(str(key))
    return found


def _message_keys(con: duckdb.DuckDBPyConnection, address: str | None, account: str | None,
                  domains: set[str]) -> set[str]:
    keys = _scan_raw(con, address, domains)
    if address:
        keys |= {str(r[0]) for r in con.execute(
            """SELECT message_key FROM messages
               WHERE lower(from_addr) = $a
                  OR list_contains(list_transform(coalesce(to_addrs, []), lambda x: lower(x)), $a)
                  OR list_contains(list_transform(coalesce(cc_addrs, []), lambda x: lower(x)), $a)
                  OR contains(lower(coalesce(body_text, '')), $a)""", {"a": address}).fetchall()}
    if account:
        keys |= {str(r[0]) for r in con.execute(
            "SELECT message_key FROM messages WHERE account_id = ?", [account]).fetchall()}
    return keys


def _speaker_names(con: duckdb.DuckDBPyConnection, address: str) -> set[str]:
    names = {str(r[0]).strip().lower() for r in con.execute(
        "SELECT name FROM contacts WHERE lower(email) = ? AND coalesce(name, '') <> ''", [address]).fetchall()}
    names |= {str(r[0]).strip().lower() for r in con.execute(
        "SELECT DISTINCT from_name FROM messages WHERE lower(from_addr) = ? AND coalesce(from_name, '') <> ''",
        [address]).fetchall()}
    return names


def _values(items: Iterable[str]) -> list[str]:
    """A list parameter for ``unnest(?)``: never empty (an empty list has no type to infer)."""
    return sorted(items) or ["\x00"]


def _count(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | Mapping[str, object] | None = None
) -> int:
    row = con.execute(sql, params or []).fetchone()
    return int(row[0]) if row else 0


def _delete(con: duckdb.DuckDBPyConnection, address: str | None, account: str | None,
            keys: set[str], whole: set[str], turns: set[tuple[str, int]]) -> dict[str, int]:
    """Every DELETE of one erasure, in dependency order; rows removed per table."""
    _register(con, "_f_msg", {"k": sorted(keys)})
    _register(con, "_f_tr", {"k": sorted(whole)})
    _register(con, "_f_utt", {"k": [k for k, _ in sorted(turns)], "seq": [s for _, s in sorted(turns)]})
    acc = account or "\x00"  # matches no account when erasing an address
    signal_ids = [str(r[0]) for r in con.execute(
        """SELECT signal_id FROM signals s
           WHERE (s.source_type = 'email' AND s.source_key IN (SELECT k FROM _f_msg))
              OR (s.source_type = 'meeting' AND s.source_key IN (SELECT k FROM _f_tr))
              OR (s.source_type = 'meeting' AND EXISTS (SELECT 1 FROM _f_utt u
                                                       WHERE u.k = s.source_key AND u.seq = s.utterance_seq))
              OR s.account_id = ?""", [acc]).fetchall()]
    _register(con, "_f_sig", {"k": signal_ids})
    c: dict[str, int] = {}
    c["signals"] = _count(con, "DELETE FROM signals WHERE signal_id IN (SELECT k FROM _f_sig)")
    c["asks"] = _count(con, """DELETE FROM asks WHERE ask_id IN (SELECT k FROM _f_sig)
        OR (source_type = 'email' AND source_key IN (SELECT k FROM _f_msg))
        OR (source_type = 'meeting' AND source_key IN (SELECT k FROM _f_tr)) OR account_id = ?""", [acc])
    c["feedback"] = _count(con, "DELETE FROM feedback WHERE signal_id IN (SELECT k FROM _f_sig) OR account_id = ?",
                           [acc])
    c["detections"] = _count(con, """DELETE FROM detections
        WHERE (source_type = 'email' AND source_key IN (SELECT k FROM _f_msg))
           OR (source_type = 'meeting' AND source_key IN (SELECT k FROM _f_tr))""")
    c["utterances"] = _count(con, """DELETE FROM utterances WHERE transcript_key IN (SELECT k FROM _f_tr)
        OR EXISTS (SELECT 1 FROM _f_utt u WHERE u.k = utterances.transcript_key AND u.seq = utterances.seq)""")
    c["transcripts"] = _count(con, "DELETE FROM transcripts WHERE transcript_key IN (SELECT k FROM _f_tr)")
    con.execute("""UPDATE transcripts SET utterance_count = (SELECT count(*) FROM utterances u
                   WHERE u.transcript_key = transcripts.transcript_key)
                   WHERE transcript_key IN (SELECT k FROM _f_utt)""")
    c["messages"] = _count(con, "DELETE FROM messages WHERE message_key IN (SELECT k FROM _f_msg)")
    c["message_locations"] = _count(con, "DELETE FROM message_locations WHERE message_key IN (SELECT k FROM _f_msg)")
    c["raw_messages"] = _count(con, "DELETE FROM raw_messages WHERE message_key IN (SELECT k FROM _f_msg)")
    c["quarantine"] = _count(con, """DELETE FROM quarantine
        WHERE (kind = 'mail' AND item_key IN (SELECT k FROM _f_msg))
           OR ($a <> '' AND contains(lower(coalesce(detail, '') || ' ' || location), $a))
           OR (kind = 'transcript' AND contains(location, '/' || $acc || '/'))""",
                             {"a": address or "", "acc": acc})
    c["threads"] = _count(con, """DELETE FROM threads WHERE thread_id NOT IN
        (SELECT thread_id FROM messages WHERE thread_id IS NOT NULL)""")
    c["unknown_senders"] = _count(con, "DELETE FROM unknown_senders WHERE address = ?", [address or ""])
    c["contacts"] = _count(con, "DELETE FROM contacts WHERE lower(email) = ? OR account_id = ?",
                           [address or "", acc])
    c["call_list"] = _count(con, "DELETE FROM call_list WHERE account_id = ?", [acc])
    c["account_scores"] = _count(con, "DELETE FROM account_scores WHERE account_id = ?", [acc])
    c["accounts"] = _count(con, "DELETE FROM accounts WHERE account_id = ?", [acc])
    for name in ("_f_msg", "_f_tr", "_f_utt", "_f_sig"):
        con.unregister(name)
    return c


def _suppress(con: duckdb.DuckDBPyConnection, erasure_id: str, now: datetime,
              values: Iterable[tuple[str, str]]) -> None:
    salt = read_salt(con)
    rows = sorted({(kind, salted_hash(salt, v)) for kind, v in values if v})
    if rows:
        con.register("_f_sup", pa.table({"kind": [r[0] for r in rows], "h": [r[1] for r in rows]}))
        con.execute("INSERT OR IGNORE INTO suppressions SELECT kind, h, ?, ? FROM _f_sup", [erasure_id, now])
        con.unregister("_f_sup")


def forget(settings: Settings, db: Database, *, address: str | None = None, account: str | None = None,
           dry_run: bool = False, author: str | None = None, compact: bool = True) -> ForgetResult:
    """Erase one person (``address``) or one account; see the module docstring."""
    if (address is None) == (account is None):
        raise TriageError("give an e-mail address or --account ID (one of them)")
    address = address.strip().lower() if address else None
    if address is not None and ("@" not in address or " " in address):
        raise TriageError(f"not an e-mail address: {address!r}")
    result = ForgetResult("address" if address else "account", dry_run=dry_run)
    erasure_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        with db.write() as con:
            con.execute("SET TimeZone = 'UTC'")
            domains: set[str] = set()
            names: set[str] = set()
            if account:
                row = con.execute("SELECT domains FROM accounts WHERE account_id = ?", [account]).fetchone()
                if row is None and not _count(con, "SELECT count(*) FROM messages WHERE account_id = ?", [account]):
                    known = [str(r[0]) for r in con.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()]
                    raise UnknownAccountError(f"unknown account {account!r} (known: {', '.join(known) or 'none'})")
                domains = {str(d).lower() for d in (row[0] if row else [])}
                contacts = [(str(e).lower(), str(n or "")) for e, n in con.execute(
                    "SELECT email, name FROM contacts WHERE account_id = ?", [account]).fetchall()]
                names = {n.strip().lower() for _, n in contacts if n.strip()}
            else:
                assert address is not None
                names = _speaker_names(con, address)
                result.in_accounts_file = bool(_count(
                    con, "SELECT count(*) FROM contacts WHERE lower(email) = ?", [address]))
                contacts = []
            keys = _message_keys(con, address, account, domains)
            whole = {str(r[0]) for r in con.execute(
                "SELECT transcript_key FROM transcripts WHERE account_id = ?", [account or "\x00"]).fetchall()}
            turns = {(str(k), int(s)) for k, s in con.execute(
                """SELECT transcript_key, seq FROM utterances
                   WHERE lower(trim(coalesce(speaker, ''))) IN (SELECT unnest(?))""", [_values(names)]).fetchall()}
            affected = {str(r[0]) for r in con.execute(
                """SELECT DISTINCT account_id FROM messages WHERE message_key IN (SELECT unnest($k))
                   UNION SELECT DISTINCT account_id FROM transcripts
                         WHERE transcript_key IN (SELECT unnest($t))""",
                {"k": _values(keys), "t": _values({k for k, _ in turns} | whole)}).fetchall() if r[0]}
            days = sorted({r[0] for r in con.execute(
                "SELECT DISTINCT as_of FROM call_list WHERE account_id IN (SELECT unnest(?))",
                [_values(affected | ({account} if account else set()))]).fetchall()})
            result.counts = _delete(con, address, account, keys, whole, turns)
            if dry_run:
                raise _DryRun
            _suppress(con, erasure_id, now, [
                *(("address", a) for a in [address, *(e for e, _ in contacts)] if a),
                *(("domain", d) for d in domains),
                *(("speaker", n) for n in names),
                *(("message", k) for k in keys),
                *(("transcript", k) for k in whole),
                *([("account", account)] if account else []),
            ])
            con.execute("INSERT INTO erasures VALUES (?, ?, ?, ?, ?, ?)", [
                erasure_id, result.subject_kind, salted_hash(read_salt(con), address or account or ""), now,
                json.dumps({k: v for k, v in result.counts.items() if v}), author])
    except _DryRun:
        return result
    result.erasure_id = erasure_id
    log.info("erasure %s: %d rows removed", erasure_id, result.total)
    if result.total:  # else only the suppression list and the audit row changed
        _after(settings, db, result, days, bool(keys), compact)
    return result


def _after(settings: Settings, db: Database, result: ForgetResult, days: list[date], messages: bool,
           compact: bool) -> None:
    """Threads, the call lists that quoted the erased words, the page; then the file is rewritten."""
    from triage import parse, publish, score
    from triage.db.encrypt import rewrite_database
    from triage.parse import store

    if messages:
        parse.messages.rebuild(db, store.read_book(db, settings.org))
    with db.read() as con:
        builds = dict(con.execute("SELECT as_of, run_id FROM call_list_builds").fetchall())
    if days and builds:
        latest = max(builds)
        for day in sorted(set(days) | {latest}):  # the latest last: `asks` holds the latest build's state
            if day in builds:
                score.build_call_list(settings, db, day, builds[day])
        result.rebuilt_days = sorted(set(days) | {latest})
        publish.rewrite_pages(settings, db, latest)
    if compact:
        env = settings.database.encryption_key_env
        report = rewrite_database(db.path, env, env, lock_timeout_seconds=db.lock_timeout_seconds)
        result.bytes_before, result.bytes_after = report.bytes_before, report.bytes_after
