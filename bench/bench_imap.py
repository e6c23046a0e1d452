"""IMAP ingest benchmark: fetch + store 10,000 messages from a local Dovecot into a fresh DuckDB.

Starts a throw-away Dovecot on loopback (scripts/dovecot, the same server the tests use), APPENDs
N messages (the dev Enron messages repeated, each copy with a unique Message-ID; the ones from
Enron sent folders go to Sent, the rest to INBOX) with MULTIAPPEND, then runs the real
``triage.ingest.sync_source`` over implicit TLS into a new DuckDB file and measures:

* messages/second fetched and stored (wall time of the first sync),
* the second sync (nothing new: search + watermark only),
* peak RSS of this process during the sync (sampled every 20 ms with psutil) and ru_maxrss.

    python bench/bench_imap.py                          # 10,000 messages, batch_size 500 (the default)
    python bench/bench_imap.py --messages 2000 --batch-sizes 50,200,1000

Writes bench/out/imap.json and prints a markdown table for BENCHMARKS.md ("IMAP ingest").
Needs Debian dovecot-imapd, dovecot-core and openssl; when run as root Dovecot stores mail as nobody.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import shared_data_dir  # noqa: E402
from tests.support.dovecot import DovecotServer, enron_dev_files, is_enron_sent  # noqa: E402
from triage import ingest  # noqa: E402
from triage.db import Database, migrate  # noqa: E402
from triage.settings import load_settings  # noqa: E402

_MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*(\r?\n[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE)


def corpus(n: int) -> dict[str, list[bytes]]:
    """n messages: the dev Enron files cycled, each copy with its own Message-ID."""
    files = enron_dev_files(shared_data_dir())
    out: dict[str, list[bytes]] = {"INBOX": [], "Sent": []}
    for i in range(n):
        _custodian, folder, path = files[i % len(files)]
        raw = path.read_bytes()
        new_id = f"Message-ID: <bench-{i}@bench.example>".encode()
        raw, found = _MESSAGE_ID.subn(new_id, raw, count=1)
        if not found:
            raw = new_id + b"\n" + raw
        out["Sent" if is_enron_sent(folder) else "INBOX"].append(raw)
    return out


class PeakRss:
    """Samples this process's RSS in a thread while the block runs."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


def run_one(server: DovecotServer, messages: dict[str, list[bytes]], batch_size: int, work: Path) -> dict[str, Any]:
    user = server.add_user()
    os.environ[user.password_env] = user.password
    t0 = time.perf_counter()
    for folder, msgs in messages.items():
        server.append(user, folder, msgs, batch=100)
    append_s = time.perf_counter() - t0
    n = sum(len(m) for m in messages.values())
    mb = sum(len(x) for m in messages.values() for x in m) / 1e6

    cfg = work / f"bench-{batch_size}.toml"
    db_path = work / f"bench-{batch_size}.duckdb"
    cfg.write_text(server.source_toml(user, batch_size=batch_size) + f'[database]\npath = "{db_path}"\n')
    settings = load_settings(cfg, use_env_config=False)
    db = Database(db_path)
    migrate(db)

    with PeakRss() as rss:
        t0 = time.perf_counter()
        first = ingest.sync_source(settings, "imap", db, "bench-1")
        first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = ingest.sync_source(settings, "imap", db, "bench-2")
    second_s = time.perf_counter() - t0
    with db.read() as con:
        stored = con.execute("SELECT count(*) FROM raw_messages").fetchone()
    assert first.fetched == n and stored and stored[0] == n, (first, stored)
    assert second.fetched == 0
    return {
        "messages": n,
        "megabytes": round(mb, 1),
        "batch_size": batch_size,
        "append_seconds": round(append_s, 2),
        "append_msgs_per_s": round(n / append_s),
        "sync_seconds": round(first_s, 2),
        "sync_msgs_per_s": round(n / first_s),
        "sync_mb_per_s": round(mb / first_s, 1),
        "resync_nothing_new_seconds": round(second_s, 3),
        "peak_rss_mb_during_sync": round(rss.peak / 2**20),
        "db_mb": round(db_path.stat().st_size / 2**20, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--batch-sizes", default="500", help="comma-separated sources.imap.batch_size values")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "imap.json")
    args = ap.parse_args()
    sizes = [int(x) for x in args.batch_sizes.split(",")]

    base = Path(tempfile.mkdtemp(prefix="triage-bench-imap-", dir="/tmp"))
    base.chmod(0o755)  # Dovecot's unprivileged processes must traverse it
    server = DovecotServer(base / "dovecot", pool_size=len(sizes) + 1)
    messages = corpus(args.messages)
    results = []
    try:
        server.start()
        for bs in sizes:
            results.append(run_one(server, messages, bs, base))
            print(f"batch_size={bs}: {results[-1]}", file=sys.stderr)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)

    report = {
        "benchmark": "imap_ingest",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "security": "tls (implicit, loopback, certificate verified)",
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    print(
        "| messages | MB | batch_size | APPEND (setup) | sync wall | fetched+stored | re-sync, nothing new "
        "| peak RSS during sync |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['messages']:,} | {r['megabytes']} | {r['batch_size']} | {r['append_msgs_per_s']:,} msg/s "
            f"| {r['sync_seconds']} s | **{r['sync_msgs_per_s']:,} msg/s** ({r['sync_mb_per_s']} MB/s) "
            f"| {r['resync_nothing_new_seconds']} s | {r['peak_rss_mb_during_sync']} MiB |"
        )


if __name__ == "__main__":
    main()
