"""Score free texts with the real pipeline (``triage score-text``, evaluation): one decision per text.

A text is one unit, as a message or an utterance is in the nightly run, and goes through the same
steps (cut to ``nlp.max_unit_chars``, the writer's own words only, sentences, passages, heads, rules):
its score for a detector is the unit score the detector decided on and its label is that decision.
:func:`score_stream` is the JSONL-in/JSONL-out loop behind ``triage score-text``: one output line per
input line, in order, whatever the line holds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from triage.nlp.runtime import Runtime, make_docs
from triage.nlp.units import Hit, SentInfo, UnitDecision, passages_of, sents_of

__all__ = ["CLIENT_KINDS", "DEFAULT_MAX_CHARS", "DecisionUnits", "TextScore", "decision_units", "score_stream",
           "score_texts"]

#: what client (and unknown) text is scored for; our own text is scored for commitments only
CLIENT_KINDS = ("frustration", "complaint", "buying_signal", "ask")
#: the nightly run's default nlp.max_unit_chars
DEFAULT_MAX_CHARS = 100_000


@dataclass
class TextScore:
    scores: dict[str, float] = field(default_factory=dict)
    labels: dict[str, bool] = field(default_factory=dict)
    hits: list[tuple[int, str, Hit]] = field(default_factory=list)
    sentences: int = 0

    def as_json(self, kinds: Sequence[str]) -> dict[str, Any]:
        return {
            **{k: round(self.scores.get(k, 0.0), 4) for k in kinds},
            "labels": {k: self.labels.get(k, False) for k in kinds},
            "signals": [
                {"kind": h.kind, "subtype": h.subtype, "score": round(h.score, 4), "sentence": text,
                 "intensity": None if h.intensity is None else round(h.intensity, 4),
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
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[TextScore]:
    """Run the pipeline over ``texts`` (party "client" unless given): one :class:`TextScore` each."""
    docs = make_docs(runtime.nlp, texts, parties or ["client"] * len(texts), anchors or [None] * len(texts),
                     max_chars)
    out = []
    with runtime.lock:
        for doc in runtime.nlp.pipe(docs, batch_size=512):
            sents: list[SentInfo] = doc._.triage_sents or []
            unit: dict[str, UnitDecision] = doc._.triage_unit or {}
            kinds = ("commitment",) if doc._.triage_party == "us" else CLIENT_KINDS
            ts = TextScore(sentences=sum(1 for s in sents if s.scorable and s.evidence))
            for k in kinds:
                decision = unit.get(k, UnitDecision())
                ts.scores[k], ts.labels[k] = decision.score, decision.label
            ts.hits = [(s.idx, s.text, h) for s in sents for h in s.hits]
            out.append(ts)
    return out


@dataclass
class DecisionUnits:
    """What a detector decided one text on: every unit (passage or sentence, as the encoder saw it) with its
    score for the detector, highest first; ``fired`` is the detector's decision on the text."""

    units: list[tuple[str, float]] = field(default_factory=list)
    fired: bool = False

    def at_or_above(self, threshold: float) -> list[tuple[str, float]]:
        return [(t, s) for t, s in self.units if s >= threshold]


def decision_units(runtime: Runtime, texts: Sequence[str], kind: str, *,
                   parties: Sequence[str] | None = None,
                   max_chars: int = DEFAULT_MAX_CHARS) -> list[DecisionUnits]:
    """The units ``kind`` decided each text on (learning from feedback: a "Not a problem" covers every unit
    at or above the threshold, a Confirm the unit that decided). Passage detectors: the multi-sentence
    passages and every sentence (rule floors act on sentences); sentence detectors: the sentences."""
    docs = make_docs(runtime.nlp, texts, parties or ["client"] * len(texts), [None] * len(texts), max_chars)
    out = []
    with runtime.lock:
        for doc in runtime.nlp.pipe(docs, batch_size=512):
            sents = sents_of(doc)
            found: dict[str, float] = {}
            for p in passages_of(doc):
                if len(p.sents) > 1 and kind in p.scores:
                    text = " ".join(sents[i].text for i in p.sents)
                    found[text] = max(found.get(text, 0.0), p.scores[kind])
            for si in sents:
                if si.encoded and kind in si.scores:
                    found[si.text] = max(found.get(si.text, 0.0), si.scores[kind])
            unit: dict[str, UnitDecision] = doc._.triage_unit or {}
            ranked = sorted(found.items(), key=lambda x: -x[1])
            out.append(DecisionUnits(ranked, unit.get(kind, UnitDecision()).label))
    return out


def _parse_line(line: str, n: int) -> tuple[str | int | None, dict[str, Any] | str]:
    """(id, item) or (id, error message)."""
    if not line.strip():
        return None, f"line {n}: empty line (want a JSON object with id and text)"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"line {n}: not JSON ({e.msg})"
    except RecursionError:
        return None, f"line {n}: JSON nested too deeply"
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


def score_stream(runtime: Runtime, src: TextIO, out: TextIO, *, explain: bool, chunk: int = 256,
                 max_chars: int = DEFAULT_MAX_CHARS) -> tuple[int, int]:
    """Score JSONL from ``src`` into ``out``; returns (scored, errors).

    One output line per input line, in input order; a line that cannot be scored (blank, not JSON, no
    text) gets ``{"id", "error"}`` and never stops the rest. Texts longer than ``max_chars`` are cut
    there, as in the nightly run (the output then says ``"cut": true``).
    """
    scored = errors = 0
    pending: list[tuple[str | int, dict[str, Any]]] = []

    def flush() -> None:
        nonlocal scored
        if not pending:
            return
        results = score_texts(runtime, [p["text"] for _, p in pending], parties=[p["party"] for _, p in pending],
                              anchors=[p["date"] for _, p in pending], max_chars=max_chars)
        for (ident, item), res in zip(pending, results, strict=True):
            kinds = ("commitment",) if item["party"] == "us" else CLIENT_KINDS
            body = res.as_json(kinds)
            if not explain:
                body.pop("signals")
            if len(item["text"]) > max_chars:
                body["cut"] = True
            out.write(json.dumps({"id": ident, **body}, ensure_ascii=False) + "\n")
        out.flush()
        scored += len(pending)
        pending.clear()

    for n, raw in enumerate(src, 1):
        ident, item = _parse_line(raw.rstrip("\r\n"), n)
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
