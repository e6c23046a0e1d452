"""Hypothesis: any mix of good mail and hostile items in a Maildir ends with every item stored or
quarantined with a reason, every good message parsed, and a second pass adding nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.poison import HOSTILE_MAIL, Expect, good_mail, write_hostile_mail
from triage import ingest
from triage.db import Database, migrate
from triage.parse.accounts import Account, AccountBook
from triage.parse.messages import parse_pending
from triage.settings import load_settings

BOOK = AccountBook([Account("acme", "Acme", ("acme-logistics.example",))], our_domains=["northwind.example"])
words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz éàüß", min_size=1, max_size=12)
good_bodies = st.lists(words, min_size=2, max_size=12).map(lambda w: "We need " + " ".join(w).strip() + ".")
hostile = st.sampled_from(sorted(HOSTILE_MAIL)).map(lambda n: ("hostile", n))
items = st.lists(
    st.one_of(hostile, good_bodies.map(lambda b: ("good", b))),
    min_size=1,
    max_size=12,
)


def rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    with db.read() as con:
        return con.execute(sql).fetchall()


def _check(db: Database, expected: dict[str, Expect], good: dict[str, str]) -> None:
    locations = dict(rows(db, "SELECT location, message_key FROM message_locations"))
    ingest_q = dict(rows(db, "SELECT location, reason FROM quarantine WHERE stage = 'ingest'"))
    parse_q = dict(rows(db, "SELECT item_key, reason FROM quarantine WHERE stage = 'parse'"))
    messages = dict(rows(db, "SELECT message_key, body_text FROM messages"))
    # every raw message is parsed or quarantined, never both
    raw = {r[0] for r in rows(db, "SELECT message_key FROM raw_messages")}
    assert raw == set(messages) | set(parse_q) and not set(messages) & set(parse_q)
    for name, exp in expected.items():
        for loc in exp.locations:
            assert (loc in locations) != (loc in ingest_q), (name, loc)
            key = locations.get(loc)
            if exp.stage == "ingest":
                assert ingest_q.get(loc) == exp.reason, (name, loc, ingest_q.get(loc))
            elif exp.stage == "parse":
                assert key is not None and parse_q.get(key) == exp.reason, (name, loc)
            elif exp.stage == "message":
                assert key in messages, (name, loc, parse_q.get(key or ""))
            else:
                assert loc in ingest_q or key in messages or key in parse_q, (name, loc)
        if exp.stage == "message" and exp.text:
            assert any(exp.text in messages[locations[loc]] for loc in exp.locations), name
    for loc, body in good.items():
        assert messages[locations[loc]] == body
    assert all(reason for reason in [*ingest_q.values(), *parse_q.values()])
    assert not any(b"root:x:0:0" in bytes(r[0]) for r in rows(db, "SELECT raw FROM raw_messages"))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items)
def test_any_mix_of_good_and_hostile_items_is_stored_or_quarantined(mix: list[tuple[str, str]]) -> None:
    d = Path(tempfile.mkdtemp(prefix="poison-"))
    try:
        root = d / "Maildir"
        for part in ("cur", "new", "tmp"):
            (root / part).mkdir(parents=True)
        outside = d / "outside"
        outside.mkdir()
        expected: dict[str, Expect] = {}
        good: dict[str, str] = {}
        for i, (kind, value) in enumerate(mix):
            if kind == "good":
                (root / "new" / f"good-{i}").write_bytes(good_mail(f"good-{i}@acme-logistics.example", value))
                good[f"new/good-{i}"] = value
            else:
                expected.update(
                    {f"{k}-{i}": v for k, v in write_hostile_mail(root / "new", outside, [value], f"-{i}").items()}
                )
        cfg = d / "config.toml"
        cfg.write_text(f'[[sources.local]]\nname = "m"\npath = "{root}"\n', encoding="utf-8")
        s = load_settings(cfg, use_env_config=False)
        db = Database(d / "t.duckdb", lock_timeout_seconds=30)
        migrate(db)
        ingest.sync_source(s, "m", db, "r1")
        parse_pending(db, BOOK, "r1")
        _check(db, expected, good)
        before = {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("raw_messages", "messages", "quarantine")}
        again = ingest.sync_source(s, "m", db, "r2")
        reparsed = parse_pending(db, BOOK, "r2")
        assert (again.fetched, again.quarantined, reparsed.parsed, reparsed.quarantined) == (0, 0, 0, 0)
        after = {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in ("raw_messages", "messages", "quarantine")}
        assert after == before
    finally:
        shutil.rmtree(d, ignore_errors=True)
