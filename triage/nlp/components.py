"""The spaCy components before the detectors, registered under their factory names, and the chain:

    triage_lines -> sentencizer -> triage_rules -> triage_encoder
        -> frustration (frustration.v2) -> complaint (complaint.v1) -> buying_signal (buying_signal.v2)
        -> ask (ask.v2)

(the detectors are in :mod:`triage.nlp.detectors`). A doc is one unit the user sees flagged or not: a
message's own words or one utterance. Docs carry ``doc._.triage_party`` (client | us | unknown) and
``doc._.triage_anchor`` (the date due dates are resolved against). ``triage_encoder`` encodes the
sentences that can be evidence and scores them with every head; passage detectors (frustration,
complaint) are then scored on passages (consecutive sentences, up to
:data:`~triage.nlp.heads.PASSAGE_TOKENS` tokens), encoded only where a sentence of the passage scores at
least the heads' ``passage_gate`` (the cheap first stage decides the clearly calm rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from triage.nlp.cache import Entry, get_cache, get_vector_memo, key_of
from triage.nlp.encoder import load_encoder
from triage.nlp.heads import KINDS, PASSAGE_TOKENS, Heads, load_heads, model_version
from triage.nlp.rules import RuleSet, is_filler, is_scorable
from triage.nlp.units import Passage, SentInfo, approx_tokens, ensure_extensions, sents_of

__all__ = ["LineBreaks", "RulesComponent", "SentenceEncoder"]

_SENT_END = frozenset(".!?;:")
_BULLET = frozenset("-*•–>")
_PASSAGE_KINDS = ("frustration", "complaint")
_K = {k: i for i, k in enumerate(KINDS)}


def _chunks(items: Iterable[Doc], size: int) -> Iterator[list[Doc]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


# --- sentence boundaries ---------------------------------------------------------------------------


class LineBreaks:
    """Sentence starts at line breaks, except inside hard-wrapped paragraphs (long lines).

    A blank line always ends a sentence; a single newline does when the line before ends with
    punctuation, is shorter than ``wrapped_line_chars`` (greetings, list items, sign-offs), or the next
    line starts with a bullet. Whitespace tokens never start a sentence.
    """

    def __init__(self, wrapped_line_chars: int) -> None:
        self.wrapped_line_chars = wrapped_line_chars

    def __call__(self, doc: Doc) -> Doc:
        line_start = 0
        prev_punct = False
        for tok in doc:
            if tok.is_space:
                if tok.i > 0:
                    tok.is_sent_start = False
                nl = tok.text.count("\n")
                if tok.i + 1 < len(doc):
                    nxt = doc[tok.i + 1]
                    if nl:
                        line_len = tok.idx - doc[line_start].idx
                        split = (nl >= 2 or prev_punct or line_len < self.wrapped_line_chars
                                 or nxt.text[:1] in _BULLET)
                        nxt.is_sent_start = split
                    elif prev_punct:
                        nxt.is_sent_start = True
                if nl:
                    line_start = min(tok.i + 1, len(doc) - 1)
                continue
            prev_punct = tok.text[-1:] in _SENT_END
        return doc


@Language.factory("triage_lines", default_config={"wrapped_line_chars": 60})
def make_lines(nlp: Language, name: str, wrapped_line_chars: int = 60) -> LineBreaks:
    return LineBreaks(wrapped_line_chars)


# --- rules -------------------------------------------------------------------------------------------


class RulesComponent:
    def __init__(self, nlp: Language, max_sentence_chars: int) -> None:
        ensure_extensions()
        self.ruleset = RuleSet(nlp.vocab, nlp.make_doc)
        self.max_sentence_chars = max_sentence_chars

    def __call__(self, doc: Doc) -> Doc:
        infos = []
        for i, (sent, rules) in enumerate(zip(doc.sents, self.ruleset.apply(doc), strict=True)):
            text = sent.text.strip()
            ok = is_scorable(text, max_chars=self.max_sentence_chars)
            if len(text) > self.max_sentence_chars:
                text = text[: self.max_sentence_chars].rstrip() + "…"
            evidence = ok and not rules.has("boilerplate:") and not is_filler(text)
            infos.append(SentInfo(i, text, rules, ok, evidence=evidence))
        doc._.triage_sents = infos
        return doc


@Language.factory("triage_rules", default_config={"max_sentence_chars": 1000})
def make_rules(nlp: Language, name: str, max_sentence_chars: int = 1000) -> RulesComponent:
    return RulesComponent(nlp, max_sentence_chars)


# --- the model: encoder + heads ----------------------------------------------------------------------


def _needs_vector(doc: Doc, s: SentInfo) -> bool:
    if not (s.scorable and s.evidence):
        return False
    return doc._.triage_party != "us" or s.rules.has("commit:")


class SentenceEncoder:
    """Scores a batch of docs' evidence sentences with every head (each distinct text once, from the
    score cache when it has it: :mod:`triage.nlp.cache`), then builds and scores the passages of
    passage-level detectors (see the module docstring)."""

    def __init__(self, backend: str, models_dir: str, cache_dir: str | None, batch_size: int,
                 threads: int, docs_per_call: int) -> None:
        ensure_extensions()
        self.encoder = load_encoder(
            backend,  # type: ignore[arg-type]
            Path(models_dir),
            cache_dir=Path(cache_dir) if cache_dir else None,
            batch_size=batch_size,
            threads=threads,
        )
        self.heads: Heads = load_heads(Path(models_dir), encoder_identity=self.encoder.encoder_hash)
        self.model = model_version(self.encoder.encoder_hash, self.heads.file_hash)
        self.docs_per_call = docs_per_call
        self.cls_id, self.sep_id = 101, 102
        probe = self.encoder.tokenize(["a"])
        if probe and len(probe[0]) >= 2:
            self.cls_id, self.sep_id = probe[0][0], probe[0][-1]
        self._sub_kinds = [k for k in KINDS if k in self.heads.subtype_labels]

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 0) -> Iterator[Doc]:
        """Score chunks of docs in a background thread while the components before this one (spaCy's
        tokenizer, the rules) prepare the next chunk: the encoder's ONNX calls release the GIL, so the
        rules run on the core the encoder leaves free. Results do not depend on the chunking."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1, thread_name_prefix="triage-score") as pool:
            pending: tuple[list[Doc], Any] | None = None
            for batch in _chunks(docs, self.docs_per_call):
                future = pool.submit(self._score_docs, batch)
                if pending is not None:
                    pending[1].result()
                    yield from pending[0]
                pending = (batch, future)
            if pending is not None:
                pending[1].result()
                yield from pending[0]

    def _score_docs(self, batch: list[Doc]) -> None:
        wanted = [s for d in batch for s in sents_of(d) if _needs_vector(d, s)]
        entries = self._score([s.text for s in wanted])
        for s, (scores, subtypes) in zip(wanted, entries, strict=True):
            s.encoded = True
            s.scores.update(zip(KINDS, scores, strict=True))
            s.subtypes = self._subtype_names(subtypes)
        self._passages(batch)

    def _score(self, texts: list[str], ids: dict[str, list[int]] | None = None) -> list[Entry]:
        """(scores, subtypes) per text: cached, or encoded now (each distinct text once) and cached."""
        cache = get_cache(self.model)
        unique = list(dict.fromkeys(texts))
        keys = [key_of(t) for t in unique]
        found = cache.get_many(keys)
        missing = [i for i, e in enumerate(found) if e is None]
        if missing:
            given = ids or {}
            todo = [unique[i] for i in missing]
            tokenised = [given.get(t) for t in todo]
            need = [t for t, x in zip(todo, tokenised, strict=True) if x is None]
            fresh = iter(self.encoder.tokenize(need))
            tok = [x if x is not None else next(fresh) for x in tokenised]
            vectors = self._vectors([keys[i] for i in missing], tok)
            scores = self.heads.scores(vectors)
            subs = [self.heads.subtype_index(k, vectors) for k in self._sub_kinds]
            new: list[tuple[int, Entry]] = []
            for j, i in enumerate(missing):
                # float32 as stored in ``sentence_cache``: a fresh score equals the cached one exactly
                entry = (tuple(float(x) for x in scores[j].astype(np.float32)), tuple(int(sub[j]) for sub in subs))
                found[i] = entry
                new.append((keys[i], entry))
            cache.put_many(new)
        by_text = {t: e for t, e in zip(unique, found, strict=True)}
        return [by_text[t] for t in texts]  # type: ignore[misc]

    def _vectors(self, keys: list[int], tok: list[list[int]]) -> Any:
        """The encoder's vectors of ``tok``; from the learning memo when it is on (:func:`vector_memo`)."""
        memo = get_vector_memo()
        known = memo.get(self.encoder.encoder_hash, keys)
        todo = [i for i, v in enumerate(known) if v is None]
        if not todo:
            return np.stack(known)
        fresh = self.encoder.encode_ids([tok[i] for i in todo])
        memo.put(self.encoder.encoder_hash, ((keys[i], fresh[j]) for j, i in enumerate(todo)))
        if len(todo) == len(keys):  # the nightly run (memo off): the encoder's array as it is
            return fresh
        for j, i in enumerate(todo):
            known[i] = fresh[j]
        return np.stack(known)

    def _subtype_names(self, subtypes: tuple[int, ...]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for kind, idx in zip(self._sub_kinds, subtypes, strict=False):
            labels = self.heads.subtype_labels[kind]
            out[kind] = labels[idx] if 0 <= idx < len(labels) else None
        return out

    def _passages(self, docs: list[Doc]) -> None:
        """Group each client doc's evidence sentences into passages; score the gated multi-sentence ones."""
        gate = self.heads.passage_gate
        todo: list[tuple[Passage, str, list[SentInfo]]] = []
        for doc in docs:
            sents = sents_of(doc)
            passages: list[Passage] = []
            if doc._.triage_party != "us":
                current: list[int] = []
                width = 0
                for s in sents:
                    if not s.encoded:
                        continue
                    n = approx_tokens(s.text)
                    if current and width + n > PASSAGE_TOKENS:
                        passages.append(Passage(current))
                        current, width = [], 0
                    current.append(s.idx)
                    width += n
                if current:
                    passages.append(Passage(current))
            for p in passages:
                members = [sents[i] for i in p.sents]
                p.scores = {k: max(m.scores[k] for m in members) for k in _PASSAGE_KINDS}
                if len(members) > 1 and max(p.scores.values()) >= gate:
                    todo.append((p, " ".join(m.text for m in members), members))
            doc._.triage_passages = passages
        if not todo:
            return
        texts = [t for _, t, _ in todo]
        cache = get_cache(self.model)
        need = {t for t in texts if not cache.has(key_of(t))}
        ids: dict[str, list[int]] = {}
        if need:
            member_texts = list(dict.fromkeys(m.text for _, t, ms in todo if t in need for m in ms))
            member_ids = dict(zip(member_texts, self.encoder.tokenize(member_texts), strict=True))
            for _, t, ms in todo:
                if t in need:
                    joined = [self.cls_id, *(x for m in ms for x in member_ids[m.text][1:-1])]
                    ids[t] = [*joined[: self.encoder.max_tokens - 1], self.sep_id]
        for (p, _, _), (scores, _) in zip(todo, self._score(texts, ids), strict=True):
            p.scores = {k: scores[_K[k]] for k in _PASSAGE_KINDS}
            p.encoded = True




@Language.factory(
    "triage_encoder",
    default_config={"backend": "onnx", "models_dir": "models", "cache_dir": None, "batch_size": 64,
                    "threads": 0, "docs_per_call": 128},
)
def make_encoder(nlp: Language, name: str, backend: str = "onnx", models_dir: str = "models",
                 cache_dir: str | None = None, batch_size: int = 64, threads: int = 0,
                 docs_per_call: int = 128) -> SentenceEncoder:
    return SentenceEncoder(backend, models_dir, cache_dir, batch_size, threads, docs_per_call)


# --- detectors ---------------------------------------------------------------------------------------
