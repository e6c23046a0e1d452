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

Where the person's words or address were only *mentioned*, the rows stay and the words go: an AM's
feedback note ("called priya.shah@...") and the detail of a quarantined item (a broken transcript line
she spoke) read ``[erased]`` instead. Same-day alerts about erased signals leave ``alert_log``; digests
sent to an erased address leave ``digest_log``.

:func:`erase` does all of it in one transaction, together with the erasure's audit row (``erasures``),
the suppression list (``suppressions``: salted hashes of the address, names, domains, messages and
transcripts, so the next IMAP sync, folder scan, transcript scan or accounts load does not bring them
back) and a durable job (:mod:`triage.privacy.jobs`) for what comes after: the call lists that quoted
the person built again, threads rebuilt, pages rewritten, and the database file rewritten so freed
blocks leave no byte behind. Those steps belong to the floors above; the application layer
(:mod:`triage.app.privacy`) runs them, and finishes the job of an erasure that was killed half-way.
``dry_run`` does the same deletes and rolls back.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from triage.db import Database
from triage.errors import TriageError, UnknownAccountError
from triage.log import get_logger
from triage.privacy.jobs import PrivacyJob, record
from triage.privacy.suppress import domain_suffixes, header_addresses, read_salt, salted_hash

__all__ = ["ERASED", "ForgetResult", "erase", "erased_before", "normalise_address"]

#: what stands where an erased address or name was mentioned (notes, quarantine details)
ERASED = "[erased]"

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
    #: what is left to do after the deletes (None: nothing was removed, or a dry run)
    job: PrivacyJob | None = None
    #: the salted hash the audit row was written under (a later ``forget`` of the same subject finds it)
    subject_hash: str = ""

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
            if mentions or (domains and {s for a in header_addresses(data)
                                         for s in domain_suffixes(a.rsplit("@", 1)[-1])} & domains):
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


def _accounts_of(con: duckdb.DuckDBPyConnection, address: str) -> set[str]:
    """The accounts a person belongs to: as a contact, or by the mail they sent."""
    return {str(r[0]) for r in con.execute(
        """SELECT account_id FROM contacts WHERE lower(email) = $a AND account_id IS NOT NULL
           UNION SELECT account_id FROM messages WHERE lower(from_addr) = $a AND account_id IS NOT NULL""",
        {"a": address}).fetchall()}


def _scrub_mentions(con: duckdb.DuckDBPyConnection, address: str | None, names: set[str],
                    accounts: set[str]) -> dict[str, int]:
    """Rows that only mention the person keep their place and lose what is hers: an AM's feedback note
    keeps the AM's words with the address and names replaced; a quarantined item's detail that mentions
    her, or that belongs to a transcript of one of her accounts (a broken line she may have spoken,
    without her name on it), loses its detail."""
    words = sorted({w for w in [address, *names] if w and len(w) >= 3}, key=len, reverse=True)
    if not words:
        return {}
    pattern = "|".join(re.escape(w) for w in words)
    c: dict[str, int] = {}
    c["feedback notes"] = _count(con, """UPDATE feedback SET reason = regexp_replace(reason, $p, $e, 'gi')
        WHERE regexp_matches(reason, $p, 'i')""", {"p": pattern, "e": ERASED})
    c["quarantine details"] = _count(con, """UPDATE quarantine SET detail = $e,
        location = regexp_replace(location, $p, $e, 'gi')
        WHERE coalesce(detail, '') <> $e AND (regexp_matches(coalesce(detail, '') || ' ' || location, $p, 'i')
           OR (kind = 'transcript' AND EXISTS (SELECT 1 FROM unnest($acc::VARCHAR[]) a(id)
                                              WHERE contains(location, '/' || a.id || '/'))))""",
                                  {"p": pattern, "e": ERASED, "acc": sorted(accounts)})
    return c


def _delete(con: duckdb.DuckDBPyConnection, address: str | None, account: str | None,
            keys: set[str], whole: set[str], turns: set[tuple[str, int]], names: set[str]) -> dict[str, int]:
    """Every DELETE of one erasure, in dependency order; rows removed per table."""
    hers = _accounts_of(con, address) if address else set()  # before her mail and contact rows go
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
           OR (kind = 'transcript' AND contains(location, '/' || $acc || '/'))""", {"acc": acc})
    c.update(_scrub_mentions(con, address, names, hers))
    c["alert_log"] = _count(con, "DELETE FROM alert_log WHERE signal_id IN (SELECT k FROM _f_sig) OR account_id = ?",
                            [acc])
    c["digest_log"] = _count(con, "DELETE FROM digest_log WHERE lower(recipient) = ?", [address or "\x00"])
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


def normalise_address(address: str) -> str:
    """The address as erasures match it (lower case, trimmed), or TriageError when it is none."""
    value = address.strip().lower()
    if "@" not in value or any(ch.isspace() for ch in value):
        raise TriageError(f"not an e-mail address: {value!r}")
    return value


def _subject(con: duckdb.DuckDBPyConnection, address: str | None, account: str | None
             ) -> tuple[set[str], set[str], list[tuple[str, str]], bool]:
    """The erased account's domains, the speaker names to erase, the account's contacts, and whether
    the address is a contact of the accounts file."""
    if account:
        row = con.execute("SELECT domains FROM accounts WHERE account_id = ?", [account]).fetchone()
        if row is None and not _count(con, "SELECT count(*) FROM messages WHERE account_id = ?", [account]):
            known = [str(r[0]) for r in con.execute("SELECT account_id FROM accounts ORDER BY 1").fetchall()]
            raise UnknownAccountError(f"unknown account {account!r} (known: {', '.join(known) or 'none'})")
        domains = {str(d).lower() for d in (row[0] if row else [])}
        contacts = [(str(e).lower(), str(n or "")) for e, n in con.execute(
            "SELECT email, name FROM contacts WHERE account_id = ?", [account]).fetchall()]
        return domains, {n.strip().lower() for _, n in contacts if n.strip()}, contacts, False
    assert address is not None
    listed = bool(_count(con, "SELECT count(*) FROM contacts WHERE lower(email) = ?", [address]))
    return set(), _speaker_names(con, address), [], listed


def erase(db: Database, *, address: str | None = None, account: str | None = None, dry_run: bool = False,
          author: str | None = None, compact: bool = True) -> ForgetResult:
    """Erase one person (``address``) or one account in one transaction; see the module docstring.

    The returned :attr:`ForgetResult.job` is what the caller still has to run (and is durable: when the
    caller dies, the next command that opens the database runs it)."""
    if (address is None) == (account is None):
        raise TriageError("give an e-mail address or --account ID (one of them)")
    address = normalise_address(address) if address else None
    result = ForgetResult("address" if address else "account", dry_run=dry_run)
    erasure_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    try:
        with db.write() as con:
            con.execute("SET TimeZone = 'UTC'")
            domains, names, contacts, result.in_accounts_file = _subject(con, address, account)
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
            result.counts = _delete(con, address, account, keys, whole, turns, names)
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
            result.subject_hash = salted_hash(read_salt(con), address or account or "")
            con.execute("INSERT INTO erasures VALUES (?, ?, ?, ?, ?, ?)", [
                erasure_id, result.subject_kind, result.subject_hash, now,
                json.dumps({k: v for k, v in result.counts.items() if v}), author])
            if result.total:  # else only the suppression list and the audit row changed
                result.job = record(con, "forget", job_id=erasure_id, rebuild_days=days,
                                    rebuild_threads=bool(keys), compact=compact)
    except _DryRun:
        return result
    result.erasure_id = erasure_id
    log.info("erasure %s: %d rows removed", erasure_id, result.total)
    return result


def erased_before(db: Database, subject_hash: str, erasure_id: str | None) -> bool:
    """Whether an earlier erasure (not ``erasure_id``) has the same subject."""
    with db.read() as con:
        return bool(_count(con, "SELECT count(*) FROM erasures WHERE subject_hash = ? AND erasure_id <> ?",
                           [subject_hash, erasure_id or ""]))
