"""Benchmark scoring and publishing at scale: build_call_list, load_call_list, the HTML page, digests built.

Seeds a fresh DuckDB file with synthetic but realistic rows (accounts, threads of inbound mail and our
replies, meetings with internal speakers, and detector signals: frustration, buying signals, client
asks and our commitments) straight through Arrow, then times each step on a quiet database.

    .venv/bin/python bench/bench_score.py --accounts 2000 --messages 200000 --signals 100000

Writes bench/out/score.json and bench/out/score.md (a markdown snippet for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa

from triage.db import Database, migrate
from triage.publish import load_call_list
from triage.publish.digest import build_digests
from triage.publish.html import render_page
from triage.publish.trend import load_trends
from triage.score import build_call_list, measure_all
from triage.score.inputs import load_inputs
from triage.settings import load_settings

AS_OF = date(2026, 11, 20)
TIERS = ["strategic", "enterprise", "growth", "smb"]
SENTENCES = {
    "frustration": [
        "This is the third time I'm raising it.",
        "Honestly, this is unacceptable.",
        "We keep fixing this by hand and it's getting tiresome.",
    ],
    "buying_signal": ["We'd like to add 40 seats in Q1.", "Our CFO approved the budget for the rollout."],
    "ask": ["Can you give us an ETA for the fix?", "Could you send the pricing by Monday?"],
    "commitment": ["I'll send you the report by Friday.", "We'll get back to you tomorrow."],
}


def _insert(db: Database, table: str, data: dict[str, list[Any]]) -> None:
    tbl = pa.table(data)
    with db.write() as con:
        con.register("bench_rows", tbl)
        con.execute(f"INSERT INTO {table} ({', '.join(data)}) SELECT * FROM bench_rows")
        con.unregister("bench_rows")


def seed(
    db: Database, n_accounts: int, n_messages: int, n_signals: int, n_meetings: int, rng: random.Random
) -> None:
    now = datetime.now(UTC)
    ids = [f"acct{i:05d}" for i in range(n_accounts)]
    _insert(
        db,
        "accounts",
        {
            "account_id": ids,
            "name": [f"Account {i}" for i in range(n_accounts)],
            "domains": [[f"{a}.example"] for a in ids],
            "owner_am": [f"AM {i % 25}" for i in range(n_accounts)],
            "am_email": [f"am{i % 25}@northwind.example" for i in range(n_accounts)],
            "tier": [TIERS[i % 4] for i in range(n_accounts)],
            "arr": [float(rng.randrange(5_000, 500_000)) for _ in range(n_accounts)],
            "loaded_at": [now] * n_accounts,
        },
    )
    start = datetime.combine(AS_OF - timedelta(days=120), datetime.min.time(), tzinfo=UTC)
    span = int(timedelta(days=121).total_seconds())
    keys, threads, accts, sent, direction = [], [], [], [], []
    thread_of: list[tuple[str, str]] = []
    for i in range(n_messages):
        acc = ids[rng.randrange(n_accounts)]
        if thread_of and rng.random() < 0.6:
            thread, acc = thread_of[rng.randrange(len(thread_of))]
        else:
            thread = f"t{i:08d}"
            thread_of.append((thread, acc))
        keys.append(f"m{i:09d}")
        threads.append(thread)
        accts.append(acc)
        sent.append(start + timedelta(seconds=rng.randrange(span)))
        direction.append("outbound" if rng.random() < 0.4 else "inbound")
    _insert(
        db,
        "messages",
        {
            "message_key": keys,
            "thread_id": threads,
            "account_id": accts,
            "sent_at": sent,
            "direction": direction,
            "link": [f"imap://mail.example/INBOX;UID={i}" for i in range(n_messages)],
            "parsed_at": [now] * n_messages,
            "parser_version": ["bench"] * n_messages,
        },
    )
    t_keys = [f"tr{i:07d}" for i in range(n_meetings)]
    t_acc = [ids[rng.randrange(n_accounts)] for _ in range(n_meetings)]
    _insert(
        db,
        "transcripts",
        {
            "transcript_key": t_keys,
            "path": [f"/t/{k}.vtt" for k in t_keys],
            "format": ["vtt"] * n_meetings,
            "meeting_at": [start + timedelta(seconds=rng.randrange(span)) for _ in range(n_meetings)],
            "account_id": t_acc,
            "utterance_count": [2] * n_meetings,
            "link": [f"file:///t/{k}.vtt" for k in t_keys],
            "parsed_at": [now] * n_meetings,
            "parser_version": ["bench"] * n_meetings,
        },
    )
    _insert(
        db,
        "utterances",
        {
            "transcript_key": t_keys * 2,
            "seq": [0] * n_meetings + [1] * n_meetings,
            "role": ["client"] * n_meetings + ["internal"] * n_meetings,
            "text": ["hello"] * (2 * n_meetings),
        },
    )
    kinds = rng.choices(list(SENTENCES), weights=[4, 1, 4, 1], k=n_signals)
    rows: dict[str, list[Any]] = {
        c: []
        for c in (
            "signal_id",
            "kind",
            "score",
            "intensity",
            "sentence",
            "sentence_idx",
            "source_type",
            "source_key",
            "thread_id",
            "account_id",
            "speaker",
            "party",
            "occurred_at",
            "due_date",
            "detector",
            "detector_version",
            "created_at",
        )
    }
    for i, kind in enumerate(kinds):
        j = rng.randrange(n_messages)
        ours = kind == "commitment"
        if (direction[j] == "outbound") != ours:
            j = next((x for x in range(j, n_messages) if (direction[x] == "outbound") == ours), j)
        due = (
            sent[j].date() + timedelta(days=rng.randrange(1, 6))
            if kind in ("ask", "commitment") and rng.random() < 0.3
            else None
        )
        for col, val in (
            ("signal_id", f"s{i:015d}"),
            ("kind", kind),
            ("score", rng.uniform(0.5, 1.0)),
            ("intensity", rng.uniform(0.2, 1.0) if kind == "frustration" else None),
            ("sentence", rng.choice(SENTENCES[kind])),
            ("sentence_idx", 0),
            ("source_type", "email"),
            ("source_key", keys[j]),
            ("thread_id", threads[j]),
            ("account_id", accts[j]),
            ("speaker", f"someone@{accts[j]}.example"),
            ("party", "us" if ours else "client"),
            ("occurred_at", sent[j]),
            ("due_date", due),
            ("detector", f"{kind}.v1"),
            ("detector_version", f"{kind}.v1-bench"),
            ("created_at", now),
        ):
            rows[col].append(val)
    _insert(db, "signals", rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--signals", type=int, default=100_000)
    ap.add_argument("--meetings", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = ap.parse_args()
    rng = random.Random(20261120)
    settings = load_settings(use_env_config=False)
    proc = psutil.Process()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "bench.duckdb")
        migrate(db)
        t = time.perf_counter()
        seed(db, args.accounts, args.messages, args.signals, args.meetings, rng)
        seed_s = time.perf_counter() - t
        timings: dict[str, list[float]] = {
            "build_call_list": [],
            "of which: read inputs": [],
            "of which: engagement (going quiet, slow answers)": [],
            "load_call_list": [],
            "load_trends (page charts)": [],
            "render_html": [],
            "build_digests": [],
        }
        report = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            report = build_call_list(settings, db, AS_OF, "bench")
            timings["build_call_list"].append(time.perf_counter() - t)
            t = time.perf_counter()
            with db.read() as con:
                inputs = load_inputs(con, AS_OF, settings.scoring)
            timings["of which: read inputs"].append(time.perf_counter() - t)
            t = time.perf_counter()
            engagement = measure_all(inputs, AS_OF, settings.scoring)
            timings["of which: engagement (going quiet, slow answers)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            entries = load_call_list(db, AS_OF)
            timings["load_call_list"].append(time.perf_counter() - t)
            t = time.perf_counter()
            trends = load_trends(db, [e.account_id for e in entries], AS_OF)
            timings["load_trends (page charts)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            html = render_page(entries, as_of=AS_OF, org_name="Northwind Analytics", trends=trends)
            timings["render_html"].append(time.perf_counter() - t)
            t = time.perf_counter()
            build_digests(entries, as_of=AS_OF, org_name="Northwind Analytics", cfg=settings.digest)
            timings["build_digests"].append(time.perf_counter() - t)
    assert report is not None
    result = {
        "params": vars(args) | {"out": str(args.out)},
        "machine": {
            "python": platform.python_version(),
            "cpus": psutil.cpu_count(),
            "platform": platform.platform(),
        },
        "seed_seconds": round(seed_s, 3),
        "report": vars(report),
        "engagement": {
            "accounts_measured": len(engagement),
            "engagement_drop": sum(1 for e in engagement.values() if e.drop_points > 0),
            "slow_response": sum(1 for e in engagement.values() if e.slow_points > 0),
        },
        "html_bytes": len(html.encode("utf-8")),
        "max_rss_mb": round(proc.memory_info().rss / 2**20, 1),
        "seconds": {
            k: {"min": round(min(v), 4), "median": round(sorted(v)[len(v) // 2], 4)}
            for k, v in timings.items()
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "score.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = [
        f"Scoring on {args.accounts:,} accounts, {args.messages:,} messages, {args.signals:,} signals, "
        f"{args.meetings:,} meetings ({result['machine']['cpus']} CPUs; min of {args.repeat} runs):",
        "",
        "| step | seconds (min) | seconds (median) |",
        "| --- | ---: | ---: |",
        *(f"| {k} | {v['min']:.3f} | {v['median']:.3f} |" for k, v in result["seconds"].items()),
        "",
        f"{report.asks_open:,} open / {report.asks_resolved:,} resolved asks, "
        f"{report.accounts_scored:,} accounts scored, {report.accounts_listed} listed; "
        f"engagement measured on {result['engagement']['accounts_measured']:,} accounts: "
        f"{result['engagement']['engagement_drop']} gone quiet, {result['engagement']['slow_response']} slow; "
        f"page {result['html_bytes'] / 1024:.0f} KiB; "
        f"RSS {result['max_rss_mb']} MiB.",
    ]
    (args.out / "score.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
