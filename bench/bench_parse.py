"""Parse-stage timings (``python -m bench.bench_parse --out /tmp/parse_perf.json``).

Measures, on this machine: ``parse_mail`` per message over the Enron dev files (MIME, charsets,
HTML, quote stripping), the whole ``parse_pending`` stage over them against a temporary DuckDB
file, and the nightly ``rebuild`` (direction/account, JWZ threads, unknown senders over *all*
messages) for a synthetic mailbox of ``--messages`` rows. Writes JSON and a markdown snippet.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from triage.db import Database, migrate
from triage.parse import store
from triage.parse.accounts import Account, AccountBook
from triage.parse.messages import MESSAGES_SCHEMA, parse_pending, rebuild
from triage.parse.mime import parse_mail

__all__ = ["main", "measure"]

DEV_CUSTODIANS = ("allen-p", "arnold-j", "arora-h")  # badeer-r is held out: never read it


def _raw_table(files: list[Path]) -> pa.Table:
    now = datetime.now(UTC)
    rows = {}
    for f in files:
        raw = f.read_bytes()
        key = hashlib.sha256(raw).hexdigest()
        rows[key] = {
            "message_key": key,
            "message_id": None,
            "content_sha256": key,
            "size_bytes": len(raw),
            "raw": raw,
            "source": "perf",
            "folder": f.parent.name,
            "location": str(f),
            "link": None,
            "is_sent_folder": "sent" in f.parent.name,
            "internal_date": now,
            "fetched_at": now,
            "run_id": "perf",
        }
    return pa.Table.from_pylist(list(rows.values()))


def _synthetic_messages(n: int, accounts: int) -> pa.Table:
    rng = random.Random(11)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(n):
        acct = i % accounts
        parent = rng.randrange(i) if i and rng.random() < 0.6 else None
        client = f"user{rng.randrange(5)}@client{acct}.example"
        ours = i % 3 == 0
        rows.append(
            {
                "message_key": f"k{i}",
                "message_id": f"<m{i}@x.example>",
                "thread_id": None,
                "in_reply_to": f"<m{parent}@x.example>" if parent is not None else None,
                "references_ids": [f"<m{parent}@x.example>"] if parent is not None else [],
                "subject": f"{'Re: ' if parent is not None else ''}topic {i % 700}",
                "from_addr": "am@northwind.example" if ours else client,
                "from_name": None,
                "to_addrs": [client] if ours else ["am@northwind.example"],
                "cc_addrs": [f"cc{rng.randrange(3)}@unknown{rng.randrange(40)}.example"],
                "sent_at": t0 + timedelta(minutes=i),
                "direction": "inbound",
                "account_id": None,
                "body_text": "",
                "new_text": "",
                "link": None,
                "parsed_at": t0,
                "parser_version": "perf",
            }
        )
    return pa.Table.from_pylist(rows, schema=MESSAGES_SCHEMA)


def measure(enron_dir: Path, n_messages: int) -> dict[str, Any]:
    files = [f for c in DEV_CUSTODIANS for f in sorted((enron_dir / c).rglob("*")) if f.is_file()]
    raws = [f.read_bytes() for f in files]
    t = time.perf_counter()
    for r in raws:
        parse_mail(r)
    per_msg = (time.perf_counter() - t) / len(raws)
    book = AccountBook(
        [Account(f"a{i}", f"A{i}", (f"client{i}.example",)) for i in range(200)],
        our_domains=["northwind.example"],
    )
    with tempfile.TemporaryDirectory() as d:
        db = Database(Path(d) / "perf.duckdb")
        migrate(db)
        with db.write() as con:
            store.insert_arrow(con, "raw_messages", _raw_table(files))
        t = time.perf_counter()
        rep = parse_pending(db, book, "perf")
        stage_s = time.perf_counter() - t
        db2 = Database(Path(d) / "rebuild.duckdb")
        migrate(db2)
        with db2.write() as con:
            store.insert_arrow(con, "messages", _synthetic_messages(n_messages, 200))
        t = time.perf_counter()
        first = rebuild(db2, book)
        rebuild_s = time.perf_counter() - t
        t = time.perf_counter()
        rebuild(db2, book)
        rebuild_again_s = time.perf_counter() - t
    return {
        "enron_files": len(files),
        "parse_mail_ms_per_message": round(1000 * per_msg, 2),
        "parse_pending_s": round(stage_s, 2),
        "parse_pending_messages": rep.parsed + rep.quarantined,
        "rebuild_messages": n_messages,
        "rebuild_threads": first["threads"],
        "rebuild_first_s": round(rebuild_s, 2),
        "rebuild_again_s": round(rebuild_again_s, 2),
    }


def main(argv: list[str] | None = None) -> None:
    repo = Path(__file__).resolve().parents[2]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enron", type=Path, default=repo.parent / "shared" / "data" / "enron-maildir")
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=Path("parse_perf.json"))
    args = ap.parse_args(argv)
    r = measure(args.enron, args.messages)
    args.out.write_text(json.dumps(r, indent=2), encoding="utf-8")
    md = (
        "| measure | value |\n|---|---|\n"
        f"| parse_mail, Enron dev ({r['enron_files']} files) "
        f"| {r['parse_mail_ms_per_message']} ms/message |\n"
        f"| parse_pending over them (DuckDB, batches, rebuild) | {r['parse_pending_s']} s |\n"
        f"| rebuild over {r['rebuild_messages']:,} messages ({r['rebuild_threads']:,} threads), first run "
        f"| {r['rebuild_first_s']} s |\n"
        f"| rebuild again (nothing changed) | {r['rebuild_again_s']} s |\n"
    )
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print(md, end="")  # a script's report


if __name__ == "__main__":
    main()
