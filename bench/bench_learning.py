"""The learning curve of the list (issue 20): how much do the account managers' clicks teach it, on real
mail nobody here wrote, judged the way an AM sees it (is this message flagged?).

Protocol (Berkeley Enron dev messages with human tone labels, ``../shared/data/enron-berkeley``):

1. The 1,141 messages' new text, in two halves: the thread groups ``triage eval`` uses, and every
   identical text in the half of its first copy (the same mail filed in several folders would
   otherwise be clicked in one half and "found" in the other).
2. The shipped model flags messages in the click half (frustration or complaint fires). Each flagged
   message is clicked as an AM would, with its true label: Confirm when a human labelled its tone
   negative, Not a problem (wrong kind) when calm; the click covers every frustration/complaint signal
   of the message.
3. For 5, 10, 15, 20 clicks (``--orders`` random click orders each) and all of them: the candidate of
   ``triage train --with-feedback`` (:func:`triage.learn.gate.judge`: the same code, the same gate),
   and what it does on the **other half** (precision, recall, F1 of flagged vs negative tone), on the
   clicked half (dismissed alarms back, confirmed kept), on the external development data, and whether
   the gate would install it. Next to it, in the same run: the shipped model, and the nightly list's
   own rule (a dismissed sentence does not count again, on any account: ``v_dismissed_signals``).
4. Then the halves are swapped (clicks from B, judged on A).

    .venv/bin/python bench/bench_learning.py                # both directions, 3 orders (about 20 minutes)
    .venv/bin/python bench/bench_learning.py --orders 1 --levels 10 --directions AB   # a quick look

Writes ``models/learning_curve.json`` (the model card's "Learning from feedback" section renders it:
``triage train --thresholds-only`` or ``python -m triage.learn.card``) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.learn.card import cpu_name, update_learning_section
from triage.learn.data import load_berkeley, shared_data_dir
from triage.learn.evaluate import berkeley_units
from triage.learn.feedback import Click
from triage.learn.gate import Prepared, judge, prepare
from triage.learn.metrics import prf
from triage.nlp.cache import vector_memo
from triage.nlp.scoring import score_texts
from triage.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
KINDS = ("frustration", "complaint")


@dataclass(frozen=True)
class Msg:
    id: str
    text: str
    negative: bool
    half: int


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def messages(data_dir: Path) -> list[Msg]:
    first_half: dict[str, int] = {}
    out = []
    for u in berkeley_units(load_berkeley(data_dir)):
        half = first_half.setdefault(_norm(u.text), u.half) if u.text.strip() else u.half
        out.append(Msg(u.id, u.text, u.negative, half))
    return out


@dataclass
class Flags:
    """Per message: flagged, and the evidence sentence per fired kind."""

    flagged: dict[str, bool]
    evidence: dict[str, dict[str, str]]


def flags(prep: Prepared, models: Path, msgs: list[Msg]) -> Flags:
    scored = score_texts(prep.runtime(models), [m.text for m in msgs])
    fl, ev = {}, {}
    for m, s in zip(msgs, scored, strict=True):
        fired = {k for k in KINDS if s.labels.get(k)}
        fl[m.id] = bool(fired)
        ev[m.id] = {h.kind: text for _, text, h in s.hits if h.kind in fired}
    return Flags(fl, ev)


def prf_of(msgs: list[Msg], flagged: dict[str, bool]) -> dict[str, Any]:
    y = [m.negative for m in msgs]
    pred = [flagged[m.id] for m in msgs]
    p, r, f = prf(y, pred)
    return {"found": sum(a and b for a, b in zip(y, pred, strict=True)), "positives": sum(y),
            "false_alarms": sum(b and not a for a, b in zip(y, pred, strict=True)), "calm": len(y) - sum(y),
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def clicks_of(picked: list[Msg], shipped: Flags) -> list[Click]:
    return [Click(f"{m.id}:{k}", k, m.negative, m.text, "client", shipped.evidence[m.id][k], None)
            for m in picked for k in sorted(shipped.evidence[m.id])]


def same_words(msgs: list[Msg], shipped: Flags, clicks: list[Click]) -> dict[str, bool]:
    """The nightly list's rule: a signal whose sentence was dismissed (same kind) does not count again."""
    dismissed = {(c.kind, _norm(c.sentence)) for c in clicks if not c.confirm}
    return {m.id: any((k, _norm(t)) not in dismissed for k, t in shipped.evidence[m.id].items()) for m in msgs}


def one(prep: Prepared, picked: list[Msg], other: list[Msg], mine: list[Msg], shipped: Flags,
        stage: Path) -> dict[str, Any]:
    clicks = clicks_of(picked, shipped)
    started = time.monotonic()
    j = judge(prep, clicks, stage)
    cand = flags(prep, j.models_dir, other + mine)
    seconds = round(time.monotonic() - started, 1)
    dismissed = [m for m in picked if not m.negative]
    confirmed = [m for m in picked if m.negative]
    words = same_words(other + mine, shipped, clicks)
    dev = {f"{m.detector} / {m.dataset}": round(m.f1, 4) for m in j.after.metrics if m.external}
    return {
        "clicks": len(picked), "confirm": len(confirmed), "not_a_problem": len(dismissed),
        "candidate": {**prf_of(other, cand.flagged),
                      "dismissed_back": sum(cand.flagged[m.id] for m in dismissed),
                      "confirmed_kept": sum(cand.flagged[m.id] for m in confirmed)},
        "same_words": {**prf_of(other, words), "dismissed_back": sum(words[m.id] for m in dismissed),
                       "confirmed_kept": sum(words[m.id] for m in confirmed)},
        "gate": {"installed": j.ok, "failed": [c.name for c in j.checks if not c.ok]},
        "dev_f1": dev, "seconds": seconds,
    }


def summarise(runs: list[dict[str, Any]], key: str, field: str) -> float:
    return round(statistics.mean(r[key][field] for r in runs), 3)


PROTOCOL = ("Berkeley Enron dev messages with human tone labels, split in two halves by thread (an identical "
            "text goes to the half of its first copy). The shipped model flags messages of one half; each flagged "
            "message gets an AM's click with its true label (negative tone: Confirm; calm: Not a problem, wrong "
            "kind). A candidate of `triage train --with-feedback` (the same code and gate) is made from the first "
            "N clicks of random orders and measured on the other half: is the message flagged (frustration or "
            "complaint) against its negative tone.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=3, help="random click orders per level (default 3)")
    ap.add_argument("--levels", default="5,10,15,20", help="clicks per candidate, before 'all' (default 5,10,15,20)")
    ap.add_argument("--directions", default="AB,BA", help="AB: clicks from half A judged on B; BA: swapped")
    ap.add_argument("--out", type=Path, default=REPO / "models" / "learning_curve.json")
    args = ap.parse_args(argv)
    settings = load_settings(None)
    data_dir = shared_data_dir()
    msgs = [m for m in messages(data_dir) if m.text.strip()]
    out: dict[str, Any] = {"cpu": cpu_name(), "directions": {}}
    started = time.monotonic()
    with vector_memo():
        prep = prepare(settings, data_dir)
        shipped = flags(prep, prep.ctx.shipped_dir, msgs)
        stage = prep.ctx.build / "learning-curve"
        for direction in args.directions.split(","):
            click_half = 0 if direction == "AB" else 1
            mine = [m for m in msgs if m.half == click_half]
            other = [m for m in msgs if m.half != click_half]
            pool = [m for m in mine if shipped.flagged[m.id]]
            levels = [int(x) for x in args.levels.split(",") if x and int(x) < len(pool)]
            result: dict[str, Any] = {
                "click_half_messages": len(mine), "judged_half_messages": len(other),
                "pool": len(pool), "pool_confirm": sum(m.negative for m in pool),
                "shipped": prf_of(other, shipped.flagged), "levels": {}}
            for level in [*levels, len(pool)]:
                runs = []
                for order in range(args.orders if level < len(pool) else 1):
                    picked = random.Random(order).sample(pool, len(pool))[:level]
                    runs.append(one(prep, picked, other, mine, shipped, stage))
                    print(f"{direction} {level:>3} clicks, order {order}: F1 {runs[-1]['candidate']['f1']:.3f} "
                          f"(shipped {result['shipped']['f1']:.3f}), back {runs[-1]['candidate']['dismissed_back']}"
                          f"/{runs[-1]['not_a_problem']}, installed {runs[-1]['gate']['installed']} "
                          f"{runs[-1]['gate']['failed']} [{runs[-1]['seconds']} s]", flush=True)
                result["levels"][str(level)] = {
                    "runs": runs,
                    "candidate_f1_mean": summarise(runs, "candidate", "f1"),
                    "same_words_f1_mean": summarise(runs, "same_words", "f1"),
                    "installed": sum(r["gate"]["installed"] for r in runs),
                }
            out["directions"][direction] = result
        shutil.rmtree(stage, ignore_errors=True)
    out["seconds"] = round(time.monotonic() - started)
    out["command"] = (f"bench/bench_learning.py --orders {args.orders} --levels {args.levels} "
                      f"--directions {args.directions}")
    out["protocol"] = PROTOCOL
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {out['seconds']} s")
    if args.out.parent == REPO / "models":
        print(f"model card section updated: {update_learning_section(args.out.parent)}")


if __name__ == "__main__":
    main()
