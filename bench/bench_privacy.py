"""What encryption at rest costs: the bundled sample run plain and encrypted, alternately.

Each round runs the real CLI in a subprocess (`triage -q --config ... run --no-list --as-of 2026-11-20`)
into a fresh database, once plain and once with `[database] encryption_key_env` set, and records
the flow's own duration (the run summary; Prefect's server start is left out, it does not depend on
the file), the per-stage seconds, wall time and the DuckDB file size. Then it times opening a
connection (a read phase) plain vs encrypted, and `triage db encrypt` of the plain file.

    python bench/bench_privacy.py               # 3 rounds
    python bench/bench_privacy.py --rounds 5

For the 10,000-e-mail corpus: `python bench/bench_e2e.py --sizes 10000 --reuse-corpus --encrypt
--label encrypted` next to a plain `--label plain` run (see BENCHMARKS.md).
Writes bench/out/privacy.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_e2e import timed_run  # noqa: E402
from tests.support.flowrun import sample_config  # noqa: E402

KEY_ENV = "TRIAGE_BENCH_DB_KEY"


def _open_seconds(db_path: Path, key_env: str | None, n: int = 50) -> float:
    from triage.db import Database

    db = Database(db_path, encryption_key_env=key_env)
    t0 = time.perf_counter()
    for _ in range(n):
        with db.read() as con:
            con.execute("SELECT count(*) FROM signals").fetchone()
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO)})
    key = secrets.token_urlsafe(32)
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "encrypted": []}
    dirs: dict[str, Path] = {}
    for i in range(args.rounds):
        for mode in ("plain", "encrypted"):
            tmp = Path(tempfile.mkdtemp(prefix=f"bench-privacy-{mode}-", dir=args.out))
            cfg = sample_config(tmp)
            run_env = dict(env)
            if mode == "encrypted":
                run_env[KEY_ENV] = key
                run_env["TRIAGE_DATABASE__ENCRYPTION_KEY_ENV"] = KEY_ENV
            r = timed_run(cfg, tmp / "summary.json", run_env)
            runs[mode].append(r)
            dirs[mode] = tmp
            print(f"round {i + 1} {mode}: flow {r['flow_s']:.2f} s, wall {r['wall_s']:.1f} s, "
                  f"{r['db_bytes']:,} bytes", flush=True)
    os.environ[KEY_ENV] = key
    plain_db, enc_db = dirs["plain"] / "triage.duckdb", dirs["encrypted"] / "triage.duckdb"
    opens = {"plain": _open_seconds(plain_db, None), "encrypted": _open_seconds(enc_db, KEY_ENV)}
    from triage.db.encrypt import encrypt_database

    t0 = time.perf_counter()
    enc_report = encrypt_database(plain_db, KEY_ENV)
    encrypt_s = time.perf_counter() - t0
    from triage.learn.card import cpu_name

    def med(mode: str, f: Any) -> float:
        return float(statistics.median(f(r) for r in runs[mode]))

    result = {
        "cpu": cpu_name(), "cpus": os.cpu_count(), "rounds": args.rounds, "runs": runs,
        "open_read_phase_s": opens, "db_encrypt_s": encrypt_s,
        "db_encrypt_bytes": [enc_report.bytes_before, enc_report.bytes_after],
    }
    (args.out / "privacy.json").write_text(json.dumps(result, indent=2))
    print("\n| database | flow (median) | ingest | parse | detect | score | publish | wall (median) "
          "| file size | open + query |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode in ("plain", "encrypted"):
        stages = " | ".join(f"{med(mode, lambda r, k=k: r['stage_seconds'].get(k, 0)):.2f} s"
                            for k in ("ingest", "parse", "detect", "score", "publish"))
        print(f"| {mode} | {med(mode, lambda r: r['flow_s']):.2f} s | {stages} | "
              f"{med(mode, lambda r: r['wall_s']):.1f} s | {med(mode, lambda r: r['db_bytes']) / 2**20:.2f} MiB | "
              f"{opens[mode] * 1000:.1f} ms |")
    print(f"\n`triage db encrypt` of the plain sample file: {encrypt_s:.2f} s, "
          f"{enc_report.bytes_before:,} -> {enc_report.bytes_after:,} bytes")


if __name__ == "__main__":
    main()
