"""What names a detector pipeline: its spec, thresholds and version (cheap: no spaCy, no model load).

:func:`pipeline_version` hashes the component versions, rule tables, head files, thresholds and
backend, so ``pending_batches`` can ask which text the *current* pipeline has not scored yet without
importing spaCy or loading the encoder (a run with no new mail stays fast).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from triage.errors import DetectorError
from triage.nlp.decision import FLOORS
from triage.nlp.encoder import encoder_identity
from triage.nlp.evidence import EVIDENCE_VERSION
from triage.nlp.heads import TRAIN_HINT, head_file_hash, head_paths, model_version
from triage.nlp.patterns import PATTERNS_VERSION
from triage.settings import Settings

__all__ = [
    "CODE_VERSION", "COMPONENTS", "DECISIONS", "DETECTORS", "PipelineSpec", "effective_thresholds", "model_name",
    "pipeline_version", "spec_from_settings",
]

#: our components and their versions, in pipeline order (the sentencizer sits between lines and rules)
COMPONENTS = ("triage_lines:1", "triage_rules:2", "triage_encoder:2", "frustration.v2", "complaint.v1",
              "buying_signal.v2", "ask.v2")
#: pipe name -> registered detector version
DETECTORS = {"frustration": "frustration.v2", "complaint": "complaint.v1", "buying_signal": "buying_signal.v2",
             "ask": "ask.v2"}
#: every decision that has a threshold (commitments are decided by the ask pipe on our own text)
DECISIONS = (*DETECTORS, "commitment")

#: bump when the code changes what a detector outputs for the same heads and rules
CODE_VERSION = "3"  # 3: fine-tuned encoder, passage-level frustration/complaint, evidence filter, commit weight 0.4


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
    #: the languages read ([nlp] languages, sorted): they decide which units reach the runtime (and so the
    #: output), not the runtime itself
    languages: tuple[str, ...] = ("en",)

    def threshold_override(self, kind: str) -> float | None:
        return dict(self.thresholds).get(kind)


def spec_from_settings(settings: Settings) -> PipelineSpec:
    """The pipeline the runs use: the team's installed model (:mod:`triage.nlp.team`) when there is one,
    else the shipped model of ``[nlp] models_dir``."""
    from triage.nlp.encoder import build_dir
    from triage.nlp.team import active_models_dir

    n = settings.nlp
    models, team = active_models_dir(settings)
    cache_dir = n.cache_dir
    if team and cache_dir is None:  # the shipped encoder's int8 export serves the team's heads too
        cache_dir = build_dir(Path(n.models_dir).resolve())
    return PipelineSpec(
        models_dir=str(models),
        backend=n.encoder_backend,
        spacy_model=n.spacy_model,
        profile=n.threshold_profile,
        thresholds=tuple(sorted(n.thresholds.items())),
        cache_dir=str(cache_dir) if cache_dir else None,
        batch_size=n.batch_size,
        threads=n.threads,
        languages=tuple(sorted(n.languages)),
    )


@lru_cache(maxsize=16)
def _head_thresholds(models_dir: str, file_hash: str) -> dict[str, dict[str, float]]:
    meta_path, _ = head_paths(Path(models_dir))
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
        return {k: {p: float(t) for p, t in v.items()} for k, v in data["thresholds"].items()}
    except (OSError, ValueError, KeyError, AttributeError) as e:
        raise DetectorError(f"the detector heads {meta_path} are unreadable ({e}); {TRAIN_HINT}") from e


def effective_thresholds(spec: PipelineSpec) -> dict[str, float]:
    """Decision threshold per decision: the settings override, else the heads' profile threshold."""
    known = _head_thresholds(spec.models_dir, head_file_hash(Path(spec.models_dir)))
    out: dict[str, float] = {}
    for kind in DECISIONS:
        override = spec.threshold_override(kind)
        if override is not None:
            out[kind] = override
            continue
        profiles = known.get(kind, {})
        if spec.profile not in profiles:
            raise DetectorError(f"the {kind} head has no {spec.profile!r} threshold (has {', '.join(profiles)})")
        out[kind] = profiles[spec.profile]
    return out


def model_name(spec: PipelineSpec) -> str:
    """What computes the scores (encoder identity + heads): the score cache's namespace."""

    models = Path(spec.models_dir)
    return model_version(encoder_identity(models), head_file_hash(models))


def pipeline_version(spec: PipelineSpec) -> str:
    """A short hash of component versions, rule tables, evidence filter, heads, thresholds, backend and the
    languages read (a changed ``[nlp] languages`` scores everything again: units of a language added are
    read, those of one removed lose their signals)."""
    blob = {
        "code": CODE_VERSION,
        "components": COMPONENTS,
        "patterns": PATTERNS_VERSION,
        "evidence": EVIDENCE_VERSION,
        "spacy_model": spec.spacy_model,
        "backend": spec.backend,
        "heads": head_file_hash(Path(spec.models_dir)),
        "thresholds": effective_thresholds(spec),
        "floors": {k: [asdict(f) for f in v] for k, v in FLOORS.items()},
        "languages": list(spec.languages),
    }
    return hashlib.sha256(json.dumps(blob, sort_keys=True).encode("utf-8")).hexdigest()[:16]
