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
from triage.nlp.heads import KINDS, TRAIN_HINT, head_file_hash, head_paths
from triage.nlp.patterns import PATTERNS_VERSION
from triage.settings import Settings

__all__ = [
    "CODE_VERSION", "COMPONENTS", "DETECTORS", "PipelineSpec", "effective_thresholds", "pipeline_version",
    "spec_from_settings",
]

#: our components and their versions, in pipeline order (the sentencizer sits between lines and rules)
COMPONENTS = ("triage_lines:1", "triage_rules:1", "triage_encoder:1", "frustration.v1", "buying_signal.v1", "ask.v1")
#: pipe name -> registered detector version
DETECTORS = {"frustration": "frustration.v1", "buying_signal": "buying_signal.v1", "ask": "ask.v1"}

#: bump when the code changes what a detector outputs for the same head and rules
CODE_VERSION = "2"  # 2: weekday/date mentions in plain statements are not due dates

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
