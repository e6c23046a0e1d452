"""End-to-end benchmark: `triage run` over 1,000 and 10,000 e-mails + 100 transcripts.

For each size: build the corpus (bench/corpus.py: real Enron bodies and QMSum meetings), run the real
CLI in a subprocess (`triage -q --config ... run --no-list --summary-json ...`), and record wall time,
per-stage seconds (from the run summary the flow stores in DuckDB), and peak memory (RSS of the
process tree, sampled every 0.1 s with psutil: triage + Prefect's ephemeral server + any workers).
Then re-run with no new mail and record that too.

    python bench/bench_e2e.py                   # 1000 and 10000
    python bench/bench_e2e.py --sizes 1000      # just one size
    python bench/bench_e2e.py --prefect-api URL # against a running `prefect server start`
    python bench/bench_e2e.py --sizes 10000 --code /work/v1 --label v1   # another checkout's code, same corpus
    python bench/bench_e2e.py --sizes 10000 --reuse-corpus --encrypt --label encrypted   # encryption at rest

Writes bench/out/e2e.json and prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.corpus import make_corpus  # noqa: E402

AS_OF = "2026-11-20"


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def db_bytes(config: Path) -> int:
    """Size of the run's DuckDB file(s) next to the corpus config (the file and any WAL)."""
    return sum(f.stat().st_size for f in config.parent.glob("triage.duckdb*"))


def timed_run(config: Path, summary: Path, env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from triage.cli import main; sys.exit(main())",
        "-q",
        "--config",
        str(config),
        "run",
        "--no-list",
        "--as-of",
        AS_OF,
        "--summary-json",
        str(summary),
    ]
    t0 = time.perf_counter()
    # `python -c` puts the working directory first on sys.path: run in the checkout whose code is measured
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(ps))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"triage run failed ({proc.returncode}):\n{err[-3000:]}")
    s = json.loads(summary.read_text())
    return {
        "wall_s": round(wall, 2),
        "flow_s": s["duration_s"],
        "prefect_overhead_s": round(wall - s["duration_s"], 2),
        "peak_rss_mb": round(peak / 2**20),
        "stage_seconds": s["stage_seconds"],
        "db_bytes": db_bytes(config),
        "counts": {
            k: s[k]
            for k in ("fetched", "parsed", "transcripts", "quarantined", "sentences", "signals", "accounts_listed")
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--transcripts", type=int, default=100)
    ap.add_argument(
        "--shared-data", type=Path, default=Path(os.environ.get("TRIAGE_SHARED_DATA", REPO.parent / "shared" / "data"))
    )
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--prefect-api", help="PREFECT_API_URL of a running Prefect server (default: ephemeral)")
    ap.add_argument("--code", type=Path, help="run the triage package of this checkout (e.g. the commit before)")
    ap.add_argument("--label", default="current", help="name of this code in the results (e2e-LABEL.json)")
    ap.add_argument("--reuse-corpus", action="store_true", help="keep an existing corpus (its database is removed)")
    ap.add_argument("--encrypt", action="store_true",
                    help="write the database encrypted ([database] encryption_key_env, a random key per run)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="bench-prefect-"))
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "WARNING"})
    if args.prefect_api:
        env["PREFECT_API_URL"] = args.prefect_api
    if args.code:
        env["PYTHONPATH"] = str(args.code.resolve())
    if args.encrypt:
        import secrets

        env["TRIAGE_BENCH_DB_KEY"] = secrets.token_urlsafe(32)
        env["TRIAGE_DATABASE__ENCRYPTION_KEY_ENV"] = "TRIAGE_BENCH_DB_KEY"
    from triage.learn.card import cpu_name

    results: dict[str, Any] = {
        "label": args.label,
        "code": str(args.code or REPO),
        "machine": {"cpus": os.cpu_count(), "cpu": cpu_name(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "prefect": "api " + args.prefect_api if args.prefect_api else "ephemeral server (started by each run)",
        "encrypted": args.encrypt,
        "runs": [],
    }
    for n in args.sizes:
        root = args.out / f"corpus-{n}"
        if args.reuse_corpus and (root / "config.toml").is_file():
            config = root / "config.toml"
            for f in root.glob("triage.duckdb*"):
                f.unlink()
        else:
            config = make_corpus(root, args.shared_data, n_emails=n, n_transcripts=args.transcripts).config
        cwd = args.code.resolve() if args.code else None
        first = timed_run(config, args.out / f"summary-{args.label}-{n}-1.json", env, cwd)
        again = timed_run(config, args.out / f"summary-{args.label}-{n}-2.json", env, cwd)
        row = {"emails": n, "transcripts": args.transcripts, "first": first, "rerun_no_new_mail": again}
        results["runs"].append(row)
        print(json.dumps(row, indent=2), flush=True)
    (args.out / f"e2e-{args.label}.json").write_text(json.dumps(results, indent=2))
    print(
        "\n| emails | transcripts | first run wall | of which Prefect start | ingest | parse | detect | score "
        "| publish | peak RSS | re-run (no new mail) | DuckDB file |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results["runs"]:
        f, a, st = r["first"], r["rerun_no_new_mail"], r["first"]["stage_seconds"]
        print(
            f"| {r['emails']:,} | {r['transcripts']} | {f['wall_s']:.1f} s | {f['prefect_overhead_s']:.1f} s | "
            + " | ".join(f"{st.get(k, 0):.1f} s" for k in ("ingest", "parse", "detect", "score", "publish"))
            + f" | {f['peak_rss_mb']} MB | {a['wall_s']:.1f} s | {a['db_bytes'] / 2**20:.1f} MiB |"
        )


if __name__ == "__main__":
    main()
