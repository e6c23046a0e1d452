"""Rule patterns over sentences: spaCy Matcher/PhraseMatcher hits, rule features and text filters.

:class:`RuleSet` runs the tables of :mod:`triage.nlp.patterns` once over a Doc and returns, for each
sentence, the rule names that fired and the due-date phrase (if any). The heads use the rules as
features (:func:`rule_features`); the components use them to set subtypes, raise a score (churn
threats, escalations) and flag repeated asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from triage.nlp.patterns import FEATURES, IMPERATIVE_VERBS, PHRASES, TOKEN_PATTERNS

__all__ = [
    "FEATURES",
    "FILLER_WORDS",
    "RuleSet",
    "SentenceRules",
    "is_filler",
    "is_scorable",
    "rule_features",
    "rules_for_text",
]


_QUESTION_START = frozenset(
    [
        "is", "are", "am", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should",
        "shall", "may", "might", "have", "has", "had", "when", "what", "where", "how", "why", "who", "whom",
        "whose", "which", "any", "anything", "anyone", "isn't", "aren't", "don't", "doesn't", "didn't",
        "can't", "couldn't", "won't", "wouldn't", "shouldn't", "haven't", "hasn't",
    ]
)
_SKIP_START = frozenset([
    "please", "pls", "kindly", "also", "and", "so", "just", "but", "then", "now", "ok", "okay", "hi", "hello",
    "hey", "dear"
])
#: rules that make a sentence a request, question or promise (a due phrase is a deadline only with one)
_ASK_FORMS = ("ask:qmark", "ask:question_start", "ask:modal", "ask:please", "ask:need", "ask:reply",
              "ask:imperative", "repeat:", "commit:")
#: first words of a due phrase that state a deadline on their own ("by Friday", "no later than", "within 3 days")
_DEADLINE_WORDS = frozenset(
    ["by", "before", "until", "till", "no", "due", "within", "asap", "eod", "eow", "eom", "cob"]
)
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b\S+@\S+\.\w+")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9+/=_\-]{60,}")
_WORD = re.compile(r"[^\W\d_]{2,}")


@dataclass(frozen=True)
class SentenceRules:
    """What the rules found in one sentence."""

    rules: frozenset[str]
    #: the due-date phrase as written ("by Friday"), resolved later against the message date
    due_phrase: str | None = None

    def has(self, prefix: str) -> bool:
        return any(r.startswith(prefix) for r in self.rules)


#: words of back-channel and filler lines ("Yeah.", "Okay, thanks.", "Mm-hmm.", "{vocalsound}") that no
#: detector can flag; a line made only of these (at most 6 words, no question mark) is never scored
FILLER_WORDS = frozenset([
    "absolutely", "ah", "allright", "alright", "and", "anyway", "but", "bye", "cheers", "cool", "cough",
    "definitely", "disfmarker", "er", "erm", "exactly", "fine", "gap", "good", "goodbye", "gosh", "great", "ha",
    "hah", "hello", "hey", "hi", "hm", "hmm", "huh", "indeed", "later", "laugh", "mhm", "mm", "mmhmm", "mmm",
    "nah", "nice", "no", "nonvocalsound", "nope", "oh", "ok", "okay", "okey", "pause", "perfect", "right", "see",
    "so", "sounds", "sure", "thank", "thanks", "the", "then", "totally", "true", "uh", "uhhuh", "um", "umm",
    "vocalsound", "well", "wow", "ya", "yah", "yeah", "yep", "yes", "you", "yup",
])
_MARKUP = re.compile(r"\{[a-z_]+\}|\[[a-z_ ]+\]")


def is_filler(text: str) -> bool:
    """A back-channel or filler line (see :data:`FILLER_WORDS`): never evidence of anything."""
    if "?" in text:
        return False
    words = [w.lower() for w in _WORD.findall(_MARKUP.sub(" ", text).replace("-", ""))]
    return len(words) <= 6 and all(w in FILLER_WORDS for w in words)


def is_scorable(text: str, *, max_chars: int = 1000) -> bool:
    """False for non-text: only punctuation/numbers, only URLs/addresses, base64-like garbage."""
    stripped = _URL.sub(" ", _MARKUP.sub(" ", text))
    words = _WORD.findall(stripped)
    if not words:
        return False
    if len(text) > max_chars:
        # long runs without spaces (base64, hashes, minified data) are not language
        garbage = sum(len(m) for m in _LONG_TOKEN.findall(text))
        if garbage > 0.5 * len(text) or len(words) < len(text) / 40:
            return False
    return True


class RuleSet:
    """The compiled Matcher/PhraseMatcher tables for one vocabulary."""

    def __init__(self, vocab: Vocab, make_doc: Callable[[str], Doc]) -> None:
        self._vocab = vocab
        self.phrases = PhraseMatcher(vocab, attr="LOWER")
        self.tokens = Matcher(vocab)
        for name, phrases in PHRASES.items():
            self.phrases.add(name, [make_doc(p) for p in phrases])
        for name, patterns in TOKEN_PATTERNS.items():
            if patterns:
                self.tokens.add(name, patterns)

    def apply(self, doc: Doc) -> list[SentenceRules]:
        """Rules per sentence of ``doc`` (in ``doc.sents`` order)."""
        sents = list(doc.sents)
        starts = [s.start for s in sents]
        found: list[set[str]] = [set() for _ in sents]
        due: list[list[Span]] = [[] for _ in sents]
        hits = [*self.phrases(doc), *self.tokens(doc)]
        for match_id, start, _end in hits:
            name = self._vocab.strings[match_id]
            i = _sentence_of(starts, start)
            found[i].add(name)
            if name.startswith("due:"):
                due[i].append(doc[start:_end])
        out = []
        for i, sent in enumerate(sents):
            found[i].update(_sentence_level(sent))
            # every due phrase of the sentence, in order ("by end of day" + "tomorrow")
            spans = sorted(filter_spans(due[i]), key=lambda sp: sp.start)
            if not any(r.startswith(_ASK_FORMS) for r in found[i]):
                # "failed on Saturday", "arrived late this Monday": a day in a plain statement is context,
                # not a deadline; "by Friday" is one even without a request form ("The report is due by ...")
                spans = [sp for sp in spans if sp[0].lower_ in _DEADLINE_WORDS]
                if not spans:
                    found[i] = {r for r in found[i] if not r.startswith("due:")}
            phrase = " ".join(sp.text for sp in spans) if spans else None
            out.append(SentenceRules(frozenset(found[i]), phrase))
        return out


def _sentence_of(starts: Sequence[int], token_i: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= token_i:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _sentence_level(sent: Span) -> set[str]:
    """Rules that need the whole sentence: question mark, question-like start, imperative start."""
    out: set[str] = set()
    if any(t.text == "?" or t.text.endswith("?") for t in sent):
        out.add("ask:qmark")
    words = [t for t in sent if t.is_alpha or "'" in t.text]
    first = next((t for t in words if t.lower_ not in _SKIP_START), None)
    if first is not None:
        low = first.lower_
        if low in _QUESTION_START and first.i == words[0].i:
            out.add("ask:question_start")
        if low in IMPERATIVE_VERBS and (first.tag_ in ("", "VB") or first.tag_ == "VBP"):
            nxt = first.nbor(1) if first.i + 1 < sent.end else None
            # "Send me", "Please confirm", not "Call was good" / "Check-in went fine"
            if nxt is None or nxt.lower_ not in {"was", "is", "went", "has", "-", "s", "'s"}:
                out.add("ask:imperative")
    return out


def rule_features(kind: str, sentence_rules: Iterable[SentenceRules]) -> npt.NDArray[np.float32]:
    """Binary rule features (rows: sentences; columns: ``FEATURES[kind]``)."""
    names = FEATURES[kind]
    rows = [[1.0 if r.has(p) else 0.0 for p in names] for r in sentence_rules]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(names))


def rules_for_text(texts: Sequence[str], nlp: object) -> list[SentenceRules]:
    """Rules of whole texts treated as one sentence each (training data is sentence-level)."""
    ruleset: RuleSet = nlp.get_pipe("triage_rules").ruleset  # type: ignore[attr-defined]
    out = []
    for doc in nlp.tokenizer.pipe(texts, batch_size=256):  # type: ignore[attr-defined]
        for tok in doc:
            tok.is_sent_start = tok.i == 0
        rules = ruleset.apply(doc)
        merged = frozenset().union(*(r.rules for r in rules)) if rules else frozenset()
        phrase = next((r.due_phrase for r in rules if r.due_phrase), None)
        out.append(SentenceRules(merged, phrase))
    return out
