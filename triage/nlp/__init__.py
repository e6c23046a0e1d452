"""Detect owns the runtime detectors: units in, signals out (frustration, complaints, buying, asks, promises).

* :func:`pending_batches` reads (one read phase) the text the current pipeline version has not scored;
  units in a language not in ``[nlp] languages`` come marked ``unread``.
* :func:`detect_units` is pure (no database): it runs the spaCy pipeline (rules + MiniLM heads) over
  the units it reads and returns one :class:`Signal` per sentence and detector above the threshold.
* :func:`store_signals` writes them and marks every source of the batch as scored (one transaction).

The pipeline is built once per process (:mod:`triage.nlp.runtime`), so Prefect threads and Dask
workers load the models once; only the settings and the units cross to a worker.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triage.db import Database
from triage.log import get_logger
from triage.nlp.cache import CacheRow, get_cache
from triage.nlp.evidence import own_words
from triage.nlp.spec import model_name, pipeline_version, spec_from_settings
from triage.nlp.store import batch_units, load_cache, read_pending_units, write_signals
from triage.progress import track
from triage.settings import Settings
from triage.types import DetectReport, Signal, TextUnit, stable_id

if TYPE_CHECKING:  # the runtime of detection (spaCy) is imported only when units are detected
    from triage.nlp.units import SentInfo

__all__ = ["Detected", "detect_batch", "detect_units", "pending_batches", "store_signals"]

log = get_logger("nlp")

# sentence counts of recently scored units (store_signals reuses them instead of re-splitting)
_COUNTS_MAX = 500_000
_counts: OrderedDict[tuple[str, str, int, str], int] = OrderedDict()
_counts_lock = threading.Lock()


def _unit_key(u: TextUnit) -> tuple[str, str, int, str]:
    return (u.source_type, u.source_key, u.seq, hashlib.blake2b(u.text.encode("utf-8"), digest_size=8).hexdigest())


def _remember(u: TextUnit, n: int) -> None:
    with _counts_lock:
        _counts[_unit_key(u)] = n
        while len(_counts) > _COUNTS_MAX:
            _counts.popitem(last=False)


def pending_batches(settings: Settings, db: Database) -> list[list[TextUnit]]:
    """Text not yet scored by the current pipeline version, in batches that never split a source.

    Raises ModelNotFoundError when a head is missing (before any work is done).
    """

    spec = spec_from_settings(settings)
    version = pipeline_version(spec)
    units = read_pending_units(db, version, spec.languages)
    batches = batch_units(units, settings.flow.nlp_batch_sentences)
    read = [u for u in units if not u.unread]
    cached = load_cache(db, model_name(spec)) if read and settings.nlp.cache_max_entries else 0
    log.info("%d text units pending for pipeline %s in %d batch(es); %d cached scores", len(units), version,
             len(batches), cached)
    if len(read) < len(units):
        langs = Counter(u.language for u in units if u.unread)
        log.info("%d of them not read: their language is not in [nlp] languages (%s)", len(units) - len(read),
                 ", ".join(f"{lang} {n}" for lang, n in langs.most_common()))
    return batches


@dataclass
class Detected:
    """A scored batch: its signals, and the score-cache entries it created (stored with the signals)."""

    signals: list[Signal]
    model: str
    cache_rows: list[CacheRow] = field(default_factory=list)


def detect_batch(settings: Settings, units: list[TextUnit]) -> Detected:
    """:func:`detect_units` plus the score-cache entries this process created meanwhile (for Dask
    workers too: they travel back with the signals and the flow stores them)."""

    signals = detect_units(settings, units)
    model = model_name(spec_from_settings(settings))
    return Detected(signals, model, get_cache(model).take_new())


def detect_units(settings: Settings, units: list[TextUnit]) -> list[Signal]:
    """Pure: run the detectors over ``units`` (no database access; runs on Dask workers). Units marked
    ``unread`` (a language the detectors do not read) give no signals and never load the models."""
    from triage.nlp.runtime import get_runtime, make_docs, spec_from_settings

    for u in units:
        if u.unread:
            _remember(u, 0)
    units = [u for u in units if not u.unread]
    if not units:
        return []
    runtime = get_runtime(spec_from_settings(settings))
    nlp = runtime.nlp
    signals: list[Signal] = []
    with runtime.lock, track("Detecting signals", len(units)) as progress:
        docs = make_docs(nlp, [u.text for u in units], [u.party for u in units],
                         [u.occurred_at.date() if u.occurred_at is not None else None for u in units],
                         settings.nlp.max_unit_chars)
        for u, doc in zip(units, nlp.pipe(docs, batch_size=512), strict=True):
            sents: list[SentInfo] = doc._.triage_sents or []
            _remember(u, sum(1 for s in sents if s.scorable and s.evidence))
            for s in sents:
                for h in s.hits:
                    signals.append(Signal(
                        signal_id=stable_id(u.source_type, u.source_key, u.seq, s.idx, h.kind, h.detector_version),
                        kind=h.kind,  # type: ignore[arg-type]
                        subtype=h.subtype, score=h.score, intensity=h.intensity, sentence=s.text,
                        sentence_idx=s.idx, source_type=u.source_type, source_key=u.source_key,
                        utterance_seq=u.seq if u.source_type == "meeting" else None, start_s=u.start_s,
                        thread_id=u.thread_id, account_id=u.account_id, speaker=u.speaker, party=u.party,
                        occurred_at=u.occurred_at, due_date=h.due_date, rules=h.rules, detector=h.detector,
                        detector_version=h.detector_version, link=u.link,
                    ))
            progress.advance()
    return signals


def _sentence_counts(units: list[TextUnit]) -> dict[tuple[str, str], int]:
    """Scored sentences per source: from this process's detect_units, else by splitting again."""
    from triage.nlp.runtime import get_segmenter

    out: dict[tuple[str, str], int] = {}
    missing: list[TextUnit] = []
    with _counts_lock:
        for u in units:
            n = 0 if u.unread else _counts.get(_unit_key(u))
            if n is None:
                missing.append(u)
            else:
                out[(u.source_type, u.source_key)] = out.get((u.source_type, u.source_key), 0) + n
    if missing:
        seg = get_segmenter()
        for u, doc in zip(missing, seg.pipe(own_words(u.text).text for u in missing), strict=True):
            n = sum(1 for s in doc._.triage_sents or [] if s.scorable and s.evidence)
            out[(u.source_type, u.source_key)] = out.get((u.source_type, u.source_key), 0) + n
    return out


def store_signals(db: Database, units: list[TextUnit], signals: list[Signal], run_id: str,
                  detected: Detected | None = None, max_cache_entries: int = 0) -> DetectReport:
    """Store ``signals`` and mark every source in ``units`` as scored, in one transaction; with
    ``detected``, also the score-cache entries of the batch (bounded by ``max_cache_entries``)."""

    cache = (detected.model, detected.cache_rows, max_cache_entries) if detected is not None else None
    return write_signals(db, units, signals, run_id, _sentence_counts(units), cache)
