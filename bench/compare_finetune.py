"""Which fine-tuning to ship: frozen vs LoRA vs top layers vs full, measured the same way.

    python bench/compare_finetune.py [--modes frozen,lora,top,full] [--epochs 1] [--out models/finetune_modes.json]

Each mode fine-tunes all-MiniLM-L6-v2 on the same multi-task rows (:func:`triage.learn.corpus.build_corpus`,
1 epoch, :mod:`triage.learn.finetune`), then - for every mode alike - encodes with the fine-tuned fp32
weights, fits a logistic regression per detector on the training rows' vectors, and measures on the
development data at unit level with one threshold-free and one thresholded figure per task:
complaints test tweets (AP and best F1, the whole tweet as one passage), GoEmotions dev (best F1 of the
highest sentence), Parakweet test (best F1), MailEx turns (best F1 of the highest sentence) and Berkeley
dev (share of negative-tone messages above the 95th percentile of the calm ones, for the highest
passage of frustration or complaint). The shipped pipeline (int8, rules, thresholds) is measured by
``triage eval``; this script compares the modes with everything else held equal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _encode(model, tok, texts, cache):  # type: ignore[no-untyped-def]
    import torch

    todo = sorted((t for t in dict.fromkeys(texts) if t not in cache), key=len)
    for i in range(0, len(todo), 64):
        batch = todo[i : i + 64]
        enc = tok(batch, truncation=True, max_length=128, padding=True, return_tensors="pt")
        with torch.inference_mode():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        vec = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1).numpy()
        cache.update(zip(batch, vec, strict=True))
    return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


def _best_f1(y, p):  # type: ignore[no-untyped-def]
    y = np.asarray(y, bool)
    o = np.argsort(-p)
    tp = np.cumsum(y[o])
    f = 2 * tp / (np.arange(1, len(p) + 1) + y.sum())
    return float(f.max())


def measure(mode: str, epochs: float, data_dir: Path) -> dict[str, object]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from transformers import AutoModel, AutoTokenizer

    from triage.learn.corpus import build_corpus
    from triage.learn.data import load_berkeley, load_complaints, load_goemotions, load_mailex, load_parakweet
    from triage.learn.evaluate import berkeley_units
    from triage.learn.finetune import FinetuneConfig, finetune
    from triage.nlp.encoder import encoder_model_dir
    from triage.nlp.evidence import own_words
    from triage.nlp.heads import KINDS
    from triage.nlp.runtime import get_segmenter

    seg = get_segmenter()
    corpus = build_corpus(data_dir, seg)
    base = encoder_model_dir()
    started = time.monotonic()
    if mode == "frozen":
        model, trainable = AutoModel.from_pretrained(str(base), local_files_only=True), 0
    else:
        cfg = FinetuneConfig(mode=mode, epochs=epochs)
        res = finetune(base, corpus.rows, KINDS, cfg)
        model = res.model.merge_and_unload() if mode == "lora" else res.model
        trainable = res.trainable
    seconds = time.monotonic() - started
    model.eval()
    tok = AutoTokenizer.from_pretrained(str(base))
    cache: dict[str, np.ndarray] = {}
    heads = {}
    for kind in KINDS:
        rows = [r for r in corpus.rows if kind in r.labels]
        x = _encode(model, tok, [r.text for r in rows], cache)
        heads[kind] = LogisticRegression(C=1.0, max_iter=3000).fit(x, [r.labels[kind] > 0.5 for r in rows])

    def prob(texts, kind):  # type: ignore[no-untyped-def]
        return heads[kind].predict_proba(_encode(model, tok, texts, cache))[:, 1] if texts else np.zeros(0)

    def sentences(text):  # type: ignore[no-untyped-def]
        return [s.text for s in seg(own_words(text).text)._.triage_sents or [] if s.scorable and s.evidence]

    def unit_max(texts, kind, passages=False):  # type: ignore[no-untyped-def]
        groups = []
        for t in texts:
            ss = sentences(t)
            if passages:  # greedy passages of about 96 word pieces
                out, cur, n = [], [], 0
                for s in ss:
                    k = len(tok(s)["input_ids"])
                    if cur and n + k > 96:
                        out.append(" ".join(cur))
                        cur, n = [], 0
                    cur.append(s)
                    n += k
                ss = [*out, " ".join(cur)] if cur else out
            groups.append(ss)
        flat = [s for g in groups for s in g]
        p = prob(flat, kind)
        out, i = [], 0
        for g in groups:
            out.append(float(p[i : i + len(g)].max()) if g else 0.0)
            i += len(g)
        return np.array(out)

    comp = load_complaints(data_dir, "test")
    pc = prob(comp.texts, "complaint")
    ge = load_goemotions(data_dir, "dev")
    pk = load_parakweet(data_dir, "test")
    mx = load_mailex(data_dir)
    units = berkeley_units(load_berkeley(data_dir))
    neg = np.array([u.negative for u in units])
    texts = [u.text for u in units]
    either = np.maximum(unit_max(texts, "frustration", True), unit_max(texts, "complaint", True))
    t95 = float(np.quantile(either[~neg], 0.95))
    artefact = {"frozen": "none", "lora": "1.3 MB (fp16 adapter)", "top": "7.1 MB (2 blocks, fp16)",
                "full": "21 MB (6 blocks, fp16): over 10 MB"}[mode]
    return {
        "mode": mode, "trainable": trainable, "artefact": artefact, "seconds": seconds,
        "complaint_ap": float(average_precision_score(comp.labels, pc)), "complaint_f1": _best_f1(comp.labels, pc),
        "goemotions_f1": _best_f1(ge.labels, unit_max(ge.texts, "frustration")),
        "parakweet_f1": _best_f1(pk.labels, prob(pk.texts, "ask")),
        "mailex_f1": _best_f1([t.request for t in mx], unit_max([t.text for t in mx], "ask")),
        "berkeley_calm": 0.05, "berkeley_recall": float((either[neg] > t95).mean()),
    }


def main() -> int:
    import torch

    from triage.learn.card import cpu_name
    from triage.learn.data import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="frozen,lora,top,full")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=REPO / "models" / "finetune_modes.json")
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = []
    for mode in args.modes.split(","):
        row = measure(mode, args.epochs, shared_data_dir(args.data_dir))
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.out.write_text(json.dumps({"measured": datetime.now(UTC).strftime("%Y-%m-%d"), "cpu": cpu_name(),
                                    "epochs": args.epochs, "modes": rows}, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
