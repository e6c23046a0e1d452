"""Parse owns what mail and meetings say: MIME to messages and threads, accounts, transcripts to turns.

The stage functions here are thin: they read settings, build the account lookup from the
database, and call the stage modules (:mod:`~triage.parse.messages`,
:mod:`~triage.parse.meetings`), which keep the logic testable over bytes and a real DuckDB file.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from triage.db import Database
from triage.log import get_logger
from triage.parse import meetings, messages, store
from triage.parse.accounts import Account
from triage.parse.accounts_file import read_accounts_file
from triage.parse.budget import ParseLimits
from triage.privacy.suppress import Suppressions, load_suppressions
from triage.settings import Settings
from triage.types import ParseReport, TranscriptReport

__all__ = ["ingest_transcripts", "load_accounts", "parse_limits", "parse_pending"]

log = get_logger("parse")


def load_accounts(settings: Settings, db: Database) -> int:
    """(Re)load the accounts file into ``accounts``/``contacts``; return the number of accounts.

    Replaces both tables in one transaction. No file configured: 0 accounts (every sender external).
    A broken file raises :class:`~triage.errors.ConfigError` naming the file, entry and field.
    """
    path = settings.org.accounts_file
    accounts = [] if path is None else read_accounts_file(path, our_domains=settings.org.our_domains)
    with db.write() as con:
        accounts = _not_erased(accounts, load_suppressions(con))
        store.replace_accounts(con, accounts, datetime.now(UTC))
    log.info(
        "loaded %d accounts (%d contacts) from %s",
        len(accounts),
        sum(len(a.contacts) for a in accounts),
        path or "(no accounts file)",
    )
    return len(accounts)


def _not_erased(accounts: list[Account], suppressed: Suppressions) -> list[Account]:
    """The accounts file without what `triage forget` erased (accounts, contacts): they stay out."""
    if not suppressed:
        return accounts
    out = []
    for a in accounts:
        if suppressed.has("account", a.account_id):
            log.warning("account %s was erased (`triage forget --account`); remove it from the accounts file",
                        a.account_id)
            continue
        kept = tuple(c for c in a.contacts if not suppressed.has("address", c.email))
        if len(kept) < len(a.contacts):
            log.warning("%d contact(s) of account %s were erased (`triage forget`); remove them from the "
                        "accounts file", len(a.contacts) - len(kept), a.account_id)
            a = replace(a, contacts=kept)
        out.append(a)
    return out


def parse_pending(settings: Settings, db: Database, run_id: str) -> ParseReport:
    """Parse every raw message without a ``messages`` row (or quarantine it); rebuild threads."""
    return messages.parse_pending(db, store.read_book(db, settings.org), run_id, parse_limits(settings))


def ingest_transcripts(settings: Settings, db: Database, run_id: str) -> TranscriptReport:
    """Parse new/changed transcript files into ``transcripts``/``utterances`` (or quarantine)."""
    cfg = settings.transcripts
    return meetings.ingest_transcripts(
        db, store.read_book(db, settings.org), cfg.paths, cfg.max_bytes, run_id, limits=parse_limits(settings)
    )


def parse_limits(settings: Settings) -> ParseLimits:
    """The per-item limits of ``[parse]``."""
    p = settings.parse
    return ParseLimits(max_depth=p.max_depth, max_parts=p.max_parts, timeout_seconds=p.timeout_seconds,
                       max_turns=p.max_turns)
