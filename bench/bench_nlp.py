"""Benchmark the detectors: sentences/s of ``detect_units`` and of the encoder backends, peak RSS.

    .venv/bin/python bench/bench_nlp.py [--data-dir ../shared/data] [--repeat 3] [--threads 0]

Corpus: real e-mail sentences (Parakweet's Enron sentences, dev data) mixed with our client-style seed
sentences, all distinct, grouped into e-mails of 3-8 sentences; 70% client mail, 30% our own replies
(which only go through the commitment detector, as in production). Measures, after a warm-up:

* ``detect_units``: the whole pipeline (split, rules, one encoder call per batch, three heads), counted in
  scored sentences per second (median of ``--repeat`` runs), in batches of ``flow.nlp_batch_sentences``;
* the encoder alone on the same distinct sentences: int8 ONNX vs torch (fp32);
* peak RSS of the process.

Writes bench/out/nlp.json and bench/out/nlp.md (the snippet for BENCHMARKS.md "Detectors").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from triage.nlp.data import (  # noqa: E402
    load_buying_seed,
    load_client_emails,
    load_frustration_seed,
    load_parakweet,
    shared_data_dir,
)
from triage.settings import load_settings  # noqa: E402
from triage.types import TextUnit  # noqa: E402


def corpus(data_dir: Path, seed: int = 13) -> list[TextUnit]:
    sentences = [*load_parakweet(data_dir).texts, *load_buying_seed().texts, *load_frustration_seed().texts,
                 *(r.text for r in load_client_emails())]
    sentences = list(dict.fromkeys(s.strip() for s in sentences if s.strip()))
    rng = random.Random(seed)
    rng.shuffle(sentences)
    units, i, k = [], 0, 0
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    while i < len(sentences):
        n = rng.randint(3, 8)
        body = " ".join(sentences[i : i + n])
        party = "us" if rng.random() < 0.3 else "client"
        units.append(TextUnit(source_type="email", source_key=f"bench-{k:05d}", seq=0, text=body,
                              party=party, account_id="acme", thread_id=f"t{k // 3}", speaker="x@acme.example",
                              occurred_at=start + timedelta(hours=k), pipeline_version="bench"))
        i += n
        k += 1
    return units


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_encoders(texts: list[str], models_dir: Path, threads: int) -> dict[str, float]:
    from triage.nlp.encoder import load_encoder

    out = {}
    for backend in ("onnx", "torch"):
        enc = load_encoder(backend, models_dir, threads=threads)  # type: ignore[arg-type]
        enc.encode(texts[:64])  # warm-up
        t = time.perf_counter()
        enc.encode(texts)
        out[backend] = round(len(texts) / (time.perf_counter() - t), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0 = per core)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    args = ap.parse_args(argv)

    os.environ.setdefault("TRIAGE_NLP__THREADS", str(args.threads))
    settings = load_settings(None, use_env_config=False)
    from triage.nlp import detect_units
    from triage.nlp.store import batch_units

    units = corpus(shared_data_dir(args.data_dir))
    batches = batch_units(units, settings.flow.nlp_batch_sentences)
    t = time.perf_counter()
    detect_units(settings, batches[0][:5])  # load the pipeline (and export the encoder on first use)
    load_s = time.perf_counter() - t

    from triage.nlp import _sentence_counts

    runs, signals = [], 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        signals = sum(len(detect_units(settings, b)) for b in batches)
        runs.append(time.perf_counter() - t)
    sentences = sum(_sentence_counts(units).values())
    client_sentences = sum(_sentence_counts([u for u in units if u.party != "us"]).values())
    median = statistics.median(runs)

    from triage.nlp.runtime import get_segmenter

    texts = list(dict.fromkeys(s.text for d in get_segmenter().pipe(u.text for u in units)
                               for s in d._.triage_sents if s.scorable))
    encoders = bench_encoders(texts, Path(settings.nlp.models_dir), args.threads)

    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "corpus": {"units": len(units), "sentences": sentences, "client_sentences": client_sentences,
                   "batches": len(batches), "signals": signals},
        "pipeline_load_s": round(load_s, 2),
        "detect_units": {"sentences_per_s": round(sentences / median, 1), "runs_s": [round(r, 2) for r in runs],
                         "backend": settings.nlp.encoder_backend, "spacy_model": settings.nlp.spacy_model},
        "encoder_only_sentences_per_s": {**encoders, "distinct_sentences": len(texts)},
        "peak_rss_mb": round(_rss_mb(), 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nlp.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rate = result["detect_units"]["sentences_per_s"]  # type: ignore[index]
    md = f"""| measure | value |
|---|---|
| `detect_units` throughput (int8 ONNX, blank spaCy + sentencizer) | **{rate:.0f} sentences/s** |
| encoder only, int8 ONNX | {encoders['onnx']:.0f} sentences/s |
| encoder only, torch fp32 | {encoders['torch']:.0f} sentences/s |
| corpus | {len(units)} e-mails, {sentences} scored sentences ({client_sentences} client), {len(batches)} batch(es) |
| pipeline load (first call) | {load_s:.1f} s |
| peak RSS (both encoders loaded) | {result['peak_rss_mb']:.0f} MB |

Measured {result['measured_at']} on {os.cpu_count()} CPUs, median of {args.repeat} runs.
"""
    (args.out / "nlp.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
