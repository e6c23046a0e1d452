"""Benchmark the detect stage on an honest corpus, side by side with the simplest alternative.

    .venv/bin/python bench/bench_nlp.py --db bench/out/corpus-10000/triage.duckdb [--v1 /work/v1] [--fraction 0.15]

Input: the parsed text of a corpus built by bench/corpus.py (distinct real bodies, ~29% duplicate
sentences like real mail) after one `triage run` stored it: every message's new text and every meeting
utterance, exactly the units the detect stage scores. Measured in one process, one after the other,
on the same units (2 cores; the CPU is named in the output):

* **v2, cold**: ``detect_units`` with an empty score cache (a first night);
* **v2, warm**: the same units again (a re-run, or a night after a detector version that changed only
  rules or thresholds): every sentence comes from the score cache;
* **v1** (``--v1 DIR``, a checkout of the commit before): its ``detect_units`` in a subprocess on the
  same units (the "today" the speed target is measured against);
* **naive peer**: what a team would write first: sentence-transformers all-MiniLM-L6-v2 (torch, batch
  32) embedding each whole e-mail/utterance, one logistic-regression head on top (no sentences, no
  rules, no evidence);
* the encoder alone, per path: one sentence per int8 ONNX call on a pool of single-thread sessions (what
  ships: batch-invariant) vs length-sorted int8 batches of 32 on the same pool, with the vectors'
  agreement.

Throughput is counted in scored sentences per second (the sentences v2 scores: evidence sentences of
client text, promise sentences of ours), the same count for every row. Writes bench/out/nlp.json and
prints the markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_units(db_path: Path, fraction: float) -> list[Any]:
    """Every unit of a seeded random ``fraction`` of the corpus's messages and meetings."""
    import random

    from triage.db import Database
    from triage.nlp.store import read_pending_units

    units = read_pending_units(Database(db_path), "bench-none")  # a version nothing was scored with
    if fraction >= 1:
        return units
    sources = sorted({(u.source_type, u.source_key) for u in units})
    keep = set(random.Random(0).sample(sources, round(len(sources) * fraction)))
    return [u for u in units if (u.source_type, u.source_key) in keep]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def count_sentences(units: list[Any]) -> int:
    from triage.nlp import _sentence_counts

    return sum(_sentence_counts(units).values())


def time_v2(units: list[Any], batch_sentences: int) -> tuple[float, float, dict[str, int]]:
    from triage.nlp import detect_units
    from triage.nlp.cache import get_cache
    from triage.nlp.spec import model_name, spec_from_settings
    from triage.nlp.store import batch_units
    from triage.settings import load_settings

    settings = load_settings(None, use_env_config=False)
    detect_units(settings, units[:3])  # load the pipeline (not timed)
    cache = get_cache(model_name(spec_from_settings(settings)))
    cache.entries.clear()
    cache.hits = cache.misses = 0
    batches = batch_units(units, batch_sentences)
    t = time.perf_counter()
    for b in batches:
        detect_units(settings, b)
    cold = time.perf_counter() - t
    stats = {"misses": cache.misses, "hits_in_first_run": cache.hits, "entries": len(cache.entries)}
    t = time.perf_counter()
    for b in batches:
        detect_units(settings, b)
    warm = time.perf_counter() - t
    return cold, warm, stats


def time_v1(units: list[Any], v1: Path, batch_sentences: int) -> float:
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        pickle.dump([(u.source_type, u.source_key, u.seq, u.text, u.party, u.occurred_at) for u in units], f)
    code = f"""
import pickle, sys, time
from triage.nlp import detect_units
from triage.nlp.store import batch_units
from triage.settings import load_settings
from triage.types import TextUnit
rows = pickle.load(open({f.name!r}, 'rb'))
units = [TextUnit(source_type=a, source_key=b, seq=c, text=d, party=e, occurred_at=g, pipeline_version='bench')
         for a, b, c, d, e, g in rows]
s = load_settings(None, use_env_config=False)
detect_units(s, units[:3])
t = time.perf_counter()
for b in batch_units(units, {batch_sentences}):
    detect_units(s, b)
print(time.perf_counter() - t)
"""
    env = {**os.environ, "PYTHONPATH": str(v1)}
    # cwd: `python -c` puts the working directory first on sys.path, before PYTHONPATH
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=v1, capture_output=True, text=True, check=True)
    os.unlink(f.name)
    return float(out.stdout.strip().splitlines()[-1])


def time_naive(units: list[Any]) -> float:
    """sentence-transformers on whole texts, batch 32, torch (plus a linear head: negligible)."""
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    from triage.nlp.build import offline_hf
    from triage.nlp.encoder import encoder_model_dir

    offline_hf()
    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(str(encoder_model_dir()), device="cpu")
    texts = [u.text for u in units]
    model.encode(texts[:64], batch_size=32)
    w = np.random.default_rng(0).normal(size=384)
    t = time.perf_counter()
    emb = model.encode(texts, batch_size=32, normalize_embeddings=True)
    _ = emb @ w
    return time.perf_counter() - t


def encoder_paths(units: list[Any], n: int = 4000) -> dict[str, Any]:
    """The shipped encoder path (one sentence per call) vs sorted int8 batches of 32, same sentences."""
    import numpy as np

    from triage.nlp.encoder import load_encoder
    from triage.nlp.runtime import get_segmenter
    from triage.settings import default_models_dir

    texts: list[str] = []
    for doc in get_segmenter().pipe(u.text for u in units):
        texts.extend(s.text for s in doc._.triage_sents or [] if s.scorable and s.evidence)
        if len(texts) >= n:
            break
    texts = list(dict.fromkeys(texts))[:n]
    enc = load_encoder("onnx", default_models_dir())
    ids = enc.tokenize(texts)
    enc.encode_ids(ids[:64])
    t = time.perf_counter()
    one = enc.encode_ids(ids)
    t_one = time.perf_counter() - t
    order = np.argsort([len(x) for x in ids], kind="stable")
    batched = np.zeros_like(one)
    t = time.perf_counter()
    from concurrent.futures import ThreadPoolExecutor

    def run(chunk: np.ndarray) -> None:
        width = max(len(ids[j]) for j in chunk)
        arr = np.zeros((len(chunk), width), dtype=np.int64)
        mask = np.zeros_like(arr)
        for r, j in enumerate(chunk):
            arr[r, : len(ids[j])] = ids[j]
            mask[r, : len(ids[j])] = 1
        hidden = enc._hidden(arr, mask)  # type: ignore[attr-defined]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / m.sum(1)
        batched[chunk] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    chunks = [order[i : i + 32] for i in range(0, len(order), 32)]
    with ThreadPoolExecutor(enc.workers) as pool:  # type: ignore[attr-defined]
        list(pool.map(run, chunks))
    t_batch = time.perf_counter() - t
    cos = (one * batched).sum(axis=1)
    return {"sentences": len(texts), "one_per_call_per_s": round(len(texts) / t_one, 1),
            "sorted_batches_32_per_s": round(len(texts) / t_batch, 1),
            "batch_vs_one_cosine_mean": round(float(cos.mean()), 4),
            "batch_vs_one_cosine_min": round(float(cos.min()), 4)}


def main() -> int:
    from triage.learn.card import cpu_name
    from triage.settings import load_settings

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="a corpus database after one `triage run`")
    ap.add_argument("--v1", type=Path, help="checkout of the previous code (the baseline)")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="only this share of the messages and meetings (seeded random sample), e.g. 0.15")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = ap.parse_args()
    units = load_units(args.db, args.fraction)
    batch = load_settings(None, use_env_config=False).flow.nlp_batch_sentences
    sentences = count_sentences(units)
    cold, warm, stats = time_v2(units, batch)
    result: dict[str, Any] = {
        "cpu": cpu_name(), "cpus": os.cpu_count(), "units": len(units), "sentences": sentences,
        "v2_cold_s": round(cold, 2), "v2_warm_s": round(warm, 2), "cache": stats,
    }
    if args.v1:
        result["v1_s"] = round(time_v1(units, args.v1, batch), 2)
    result["naive_s"] = round(time_naive(units), 2)
    result["encoder_paths"] = encoder_paths(units)
    result["peak_rss_mb"] = round(_rss_mb())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nlp.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rate = {k: sentences / result[k] for k in ("v2_cold_s", "v2_warm_s", "v1_s", "naive_s") if k in result}
    lines = ["| path | seconds | sentences/s | vs v1 | vs naive peer |", "|---|---:|---:|---:|---:|"]
    for k, name in (("v1_s", "v1 (the commit before)"),
                    ("naive_s", "naive peer: sentence-transformers, whole texts, batch 32"),
                    ("v2_cold_s", "v2, cold score cache (first night)"),
                    ("v2_warm_s", "v2, warm score cache (re-run)")):
        if k in rate:
            vs_v1 = f"{rate[k] / rate['v1_s']:.2f}x" if "v1_s" in rate else ""
            lines.append(f"| {name} | {result[k]:.1f} | {rate[k]:.0f} | {vs_v1} | {rate[k] / rate['naive_s']:.2f}x |")
    md = "\n".join(lines) + (f"\n\n{len(units):,} units, {sentences:,} scored sentences, {result['cpu']} "
                             f"({result['cpus']} cores), peak RSS {result['peak_rss_mb']} MB; cache {stats}; "
                             f"encoder paths {result['encoder_paths']}\n")
    print(md)
    (args.out / "nlp.md").write_text(md, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
