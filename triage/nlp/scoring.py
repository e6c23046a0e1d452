"""Score free texts with the real pipeline (``triage score-text``, evaluation): per-text scores.

:func:`score_stream` is the JSONL-in/JSONL-out loop behind ``triage score-text``.

A text's score for a detector is the highest sentence score (after the rules), and its label is
whether any sentence crossed the detector's threshold, exactly as the nightly run decides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from triage.nlp.pipeline import Hit, SentInfo
from triage.nlp.runtime import Runtime

__all__ = ["DETECTOR_KINDS", "TextScore", "score_stream", "score_texts"]

DETECTOR_KINDS = ("frustration", "buying_signal", "ask")


@dataclass
class TextScore:
    scores: dict[str, float] = field(default_factory=dict)
    labels: dict[str, bool] = field(default_factory=dict)
    hits: list[tuple[int, str, Hit]] = field(default_factory=list)
    sentences: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            **{k: round(self.scores.get(k, 0.0), 4) for k in DETECTOR_KINDS},
            "labels": {k: self.labels.get(k, False) for k in DETECTOR_KINDS},
            "signals": [
                {"kind": h.kind, "subtype": h.subtype, "score": round(h.score, 4), "sentence": text,
                 "due_date": h.due_date.isoformat() if h.due_date else None, "rules": list(h.rules)}
                for _, text, h in self.hits
            ],
        }


def score_texts(
    runtime: Runtime,
    texts: Sequence[str],
    *,
    parties: Sequence[str] | None = None,
    anchors: Sequence[date | None] | None = None,
) -> list[TextScore]:
    """Run the pipeline over ``texts`` (party "client" unless given) and aggregate per text."""
    nlp = runtime.nlp
    docs = []
    for i, t in enumerate(texts):
        doc = nlp.make_doc(t)
        doc._.triage_party = parties[i] if parties else "client"
        doc._.triage_anchor = anchors[i] if anchors else None
        docs.append(doc)
    out = []
    with runtime.lock:
        for doc in nlp.pipe(docs, batch_size=512):
            sents: list[SentInfo] = doc._.triage_sents or []
            ts = TextScore(sentences=sum(1 for s in sents if s.scorable))
            kinds = ("commitment",) if doc._.triage_party == "us" else DETECTOR_KINDS
            for k in kinds:
                ts.scores[k] = max((s.scores.get(k, 0.0) for s in sents), default=0.0)
                ts.labels[k] = any(h.kind == k for s in sents for h in s.hits)
            ts.hits = [(s.idx, s.text, h) for s in sents for h in s.hits]
            out.append(ts)
    return out


def _parse_line(line: str, n: int) -> tuple[str | int | None, dict[str, Any] | str]:
    """(id, item) or (id, error message)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"line {n}: not JSON ({e.msg})"
    if not isinstance(obj, dict):
        return None, f"line {n}: expected a JSON object with id and text"
    ident = obj.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        return None, f"line {n}: missing or invalid \"id\" (string or number)"
    text = obj.get("text")
    if not isinstance(text, str):
        return ident, "missing or non-string \"text\""
    party = obj.get("party", "client")
    if party not in ("client", "us", "unknown"):
        return ident, f"invalid party {party!r} (client, us or unknown)"
    anchor = None
    if obj.get("date") is not None:
        try:
            anchor = date.fromisoformat(str(obj["date"])[:10])
        except ValueError:
            return ident, f"invalid date {obj['date']!r} (want YYYY-MM-DD)"
    return ident, {"text": text, "party": party, "date": anchor}


def score_stream(runtime: Any, src: TextIO, out: TextIO, *, explain: bool, chunk: int = 256) -> tuple[int, int]:
    """Score JSONL from ``src`` into ``out``; returns (scored, errors). One bad line never stops the rest."""
    scored = errors = 0
    pending: list[tuple[str | int, dict[str, Any]]] = []

    def flush() -> None:
        nonlocal scored
        if not pending:
            return
        results = score_texts(runtime, [p["text"] for _, p in pending], parties=[p["party"] for _, p in pending],
                              anchors=[p["date"] for _, p in pending])
        for (ident, item), res in zip(pending, results, strict=True):
            body = res.as_json()
            if not explain:
                body.pop("signals")
            if item["party"] == "us":
                body["commitment"] = round(res.scores.get("commitment", 0.0), 4)
                body["labels"]["commitment"] = res.labels.get("commitment", False)
            out.write(json.dumps({"id": ident, **body}, ensure_ascii=False) + "\n")
        out.flush()
        scored += len(pending)
        pending.clear()

    for n, raw in enumerate(src, 1):
        line = raw.strip()
        if not line:
            continue
        ident, item = _parse_line(line, n)
        if isinstance(item, str):
            flush()  # keep the output in input order
            out.write(json.dumps({"id": ident, "error": item}) + "\n")
            errors += 1
            continue
        pending.append((ident, item))  # type: ignore[arg-type]
        if len(pending) >= chunk:
            flush()
    flush()
    return scored, errors
