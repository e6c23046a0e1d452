"""The language of a unit (a message's own words, one meeting utterance): an ISO 639-1 code, or ``und``.

The detectors are English; the parse stage stores each unit's language (``messages.language``,
``utterances.language``) so the detect stage can leave the others unread and the list can say so.
:func:`identify` decides, with py3langid (naive Bayes on byte n-grams; its model ships in the wheel,
nothing is downloaded) restricted to the 18 languages of :data:`triage.types.LANGUAGE_NAMES`:

1. decide on the text before its first sign-off or confidentiality notice
   (:func:`triage.parse.quotes.before_sign_off`): a German signature under an English reply does not count;
2. fewer than 4 words (tokens with two letters in a row) or 15 letters: ``und`` ("Thanks!", a name, a
   number; the detectors read it as English);
3. the top language with normalised probabilities: English is ``en``; another language below
   :data:`MIN_CONFIDENCE` is ``und``;
4. when any sentence of 4 words or more is itself English, ``en`` (an English mail is never unread);
5. else that language (py3langid's ``no`` is reported as ``nb``).

Measured on real text nobody here wrote (docs/language.md, ``bench/bench_langid.py``): 0 of 126,062
English units called another language; 96.5 % of 1-3 sentence units in seven other languages right,
never the wrong other language.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

from triage.db import Database
from triage.log import get_logger
from triage.parse import store
from triage.parse.quotes import before_sign_off
from triage.types import LANGUAGE_NAMES, UNDETERMINED

__all__ = ["MIN_CONFIDENCE", "MIN_LETTERS", "MIN_WORDS", "identify", "identify_stored"]

log = get_logger("parse.language")

MIN_WORDS = 4
MIN_LETTERS = 15
MIN_CONFIDENCE = 0.9
#: longer texts are decided on their first this many characters (the language does not change further down)
MAX_CHARS = 4000

_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_TO_MODEL = {"nb": "no"}
_FROM_MODEL = {v: k for k, v in _TO_MODEL.items()}

BATCH = 5000

_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """py3langid's identifier restricted to our languages, loaded once per process (~0.7 s)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            ident.set_languages([_TO_MODEL.get(c, c) for c in LANGUAGE_NAMES])
            _identifier = ident
        return _identifier


def _words(text: str) -> int:
    return sum(1 for t in text.split() if _WORD.search(t))


def _top(text: str) -> tuple[str, float]:
    lang, p = _model().classify(text)
    if p <= 1.0 / len(LANGUAGE_NAMES) + 1e-6:  # no feature of any language: a uniform guess
        return UNDETERMINED, 0.0
    return _FROM_MODEL.get(lang, lang), float(p)


def _sentences(text: str) -> list[str]:
    return [s for line in text.splitlines() for s in _SENTENCE_END.split(line.strip()) if s]


def identify(text: str | None) -> str:
    """The language of ``text`` (see the module docstring): an ISO 639-1 code, or ``und``."""
    if not text:
        return UNDETERMINED
    head = before_sign_off(text[:MAX_CHARS])
    if _words(head) < MIN_WORDS or len(_LETTER.findall(head)) < MIN_LETTERS:
        return UNDETERMINED
    lang, p = _top(head)
    if lang in ("en", UNDETERMINED):
        return lang
    if p < MIN_CONFIDENCE or math.isnan(p):
        return UNDETERMINED
    if any(_words(s) >= MIN_WORDS and _top(s)[0] == "en" for s in _sentences(head)):
        return "en"
    return lang


def identify_stored(db: Database, table: str) -> int:
    """Identify the ``messages`` or ``utterances`` rows stored without a language (parsed before migration
    0025), in batches of one read and one write each; returns how many. Cheap when there are none."""
    done = 0
    while rows := store.unidentified(db, table, BATCH):
        found = [(key, seq, identify(text)) for key, seq, text in rows]
        with db.write() as con:
            store.write_languages(con, table, found)
        done += len(found)
    if done:
        log.info("identified the language of %d %s stored before (migration 0025)", done, table)
    return done
