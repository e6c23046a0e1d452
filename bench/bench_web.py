"""Benchmark the web app (`triage serve`) over a database of 50 listed accounts: the list page, an account
page, and a click to the re-ranked page; next to the simplest alternative a team would script without
the app (`triage done ACCOUNT` then `triage html` to write the static page again).

    .venv/bin/python bench/bench_web.py --accounts 50 --messages 20000 --signals 10000 --repeat 30

A real uvicorn server in a subprocess, requests over HTTP from this process (httpx), wall time per
request from send to the last byte. Writes bench/out/web.json and bench/out/web.md (for BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_score import AS_OF, seed
from triage.app.links import Signer
from triage.db import Database, migrate
from triage.score import build_call_list
from triage.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            flags = Path("/proc/cpuinfo").read_text()
            isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
            return f"{line.split(':', 1)[1].strip()} ({isa}, {os.cpu_count()} cores)"
    return platform.processor() or "unknown"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"median_ms": round(statistics.median(xs) * 1000, 1),
            "p95_ms": round(xs[int(0.95 * (len(xs) - 1))] * 1000, 1), "max_ms": round(xs[-1] * 1000, 1), "n": len(xs)}


def _timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--signals", type=int, default=10_000)
    ap.add_argument("--meetings", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        cfg = home / "config.toml"
        cfg.write_text(f'[database]\npath = "{home / "bench.duckdb"}"\n[scoring]\nmax_accounts = {args.accounts}\n'
                       f'[output]\nhtml_path = "{home / "page.html"}"\n'
                       '[serve]\nmanagers = ["mgr@northwind.example"]\n', encoding="utf-8")
        settings = load_settings(cfg)
        db = Database(home / "bench.duckdb")
        migrate(db)
        seed(db, args.accounts, args.messages, args.signals, args.meetings, random.Random(20261206))
        build_call_list(settings, db, AS_OF, "bench")
        env = {**os.environ, "TRIAGE_SERVE_SECRET": secrets.token_urlsafe(40), "PYTHONPATH": str(REPO),
               "PREFECT_HOME": str(home / "prefect")}
        port = _port()
        server = subprocess.Popen(
            [sys.executable, "-m", "triage", "--config", str(cfg), "serve", "--port", str(port)],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            result = _measure(args, port, env, cfg, home)
        finally:
            server.terminate()
            server.wait(timeout=30)
    result["machine"] = {"cpu": _cpu(), "python": platform.python_version()}
    result["params"] = {k: v for k, v in vars(args).items() if k != "out"}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    md = _markdown(result)
    (args.out / "web.md").write_text(md, encoding="utf-8")
    print(md)


def _measure(args: argparse.Namespace, port: int, env: dict[str, str], cfg: Path, home: Path) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    token, _ = Signer(env["TRIAGE_SERVE_SECRET"]).link("mgr@northwind.example", 3600)
    client = httpx.Client(base_url=url, timeout=60)
    client.get("/login", params={"t": token})
    page = client.get("/").text
    listed = re.findall(r'<article class="card" id="account-([^"]+)"', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert listed and csrf, "the list page did not render"
    client.get(f"/accounts/{listed[0]}")  # warm: templates compiled, directory read
    out: dict[str, Any] = {"accounts_listed": len(listed), "list_page_bytes": len(page.encode())}
    out["list_page"] = _stats([_timed(lambda: client.get("/")) for _ in range(args.repeat)])
    out["account_page"] = _stats([_timed(lambda i=i: client.get(f"/accounts/{listed[i % len(listed)]}"))
                                  for i in range(args.repeat)])
    clicks, after = [], []
    last = ""
    for i in range(args.repeat):
        acc = listed[(i // 2) % len(listed)]
        if i % 2 == 0:
            data = {"csrf": csrf.group(1), "action": "done", "account": acc, "back": "/"}
        else:
            done = re.search(r"did=([0-9a-f]+)", last)
            assert done, f"the click before was not applied: {last}"
            fid = done.group(1)
            data = {"csrf": csrf.group(1), "action": "undo", "target": fid, "back": "/"}
        t = time.perf_counter()
        r = client.post("/actions", data=data, follow_redirects=False)
        last = r.headers["location"]
        g = time.perf_counter()
        client.get(last)
        clicks.append(time.perf_counter() - t)
        after.append(time.perf_counter() - g)
    out["click_to_reranked_page"] = _stats(clicks)
    out["list_page_after_a_write"] = _stats(after)
    cli = [sys.executable, "-m", "triage", "--config", str(cfg)]
    alt = []
    for i in range(min(args.repeat, 5)):
        acc = listed[i % len(listed)]
        t = time.perf_counter()
        subprocess.run([*cli, "done", acc], env=env, cwd=REPO, check=True, capture_output=True)
        subprocess.run([*cli, "html"], env=env, cwd=REPO, check=True, capture_output=True)
        alt.append(time.perf_counter() - t)
    out["alternative_cli_done_then_html"] = _stats(alt)
    return out


def _markdown(r: dict[str, Any]) -> str:
    p = r["params"]
    rows = [
        ("list page (a manager's: every account), viewed again: nothing written since", r["list_page"]),
        ("list page, first view after a write (the GET of each click below)", r["list_page_after_a_write"]),
        ("account page (each one's first view)", r["account_page"]),
        ("click (done or undo) to the re-ranked page", r["click_to_reranked_page"]),
        ("without the app: `triage done ACCOUNT` + `triage html`", r["alternative_cli_done_then_html"]),
    ]
    lines = [
        f"Web app on {r['machine']['cpu']}, {p['accounts']} accounts listed ({r['accounts_listed']} on the page, "
        f"{r['list_page_bytes'] // 1024} KiB), {p['messages']:,} messages, {p['signals']:,} signals; "
        f"{p['repeat']} requests each over HTTP to a real `triage serve`.",
        "",
        "| what | median | p95 | max | n |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {s['median_ms']:.0f} ms | {s['p95_ms']:.0f} ms | {s['max_ms']:.0f} ms | {s['n']} |"
              for name, s in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
