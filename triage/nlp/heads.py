"""The detector heads: one linear layer per detector on the fine-tuned encoder's sentence vector.

``models/heads.json`` holds the metadata (format, the encoder identity the heads were trained for,
per detector: the level it decides on, thresholds per profile, subtype labels, training facts) and
``models/heads.npz`` the weights (``W`` (k, 384), ``b`` (k,), and per detector with subtypes
``sub_<kind>_W`` / ``sub_<kind>_b``). Both are written by ``triage train`` (:mod:`triage.learn.train`);
a head refuses to load for another encoder (:class:`DetectorError`) and says how to build it when
missing (:class:`ModelNotFoundError`).

Levels: ``passage`` detectors (frustration, complaint) decide on runs of consecutive sentences of up
to :data:`PASSAGE_TOKENS` tokens (a short message is one passage), the level they were trained on
(whole comments, tweets); ``sentence`` detectors (buying signal, ask, commitment) on single sentences.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.errors import DetectorError, ModelNotFoundError

__all__ = [
    "HEADS_FORMAT",
    "KINDS",
    "PASSAGE_TOKENS",
    "PROFILES",
    "TRAIN_HINT",
    "Heads",
    "head_file_hash",
    "head_paths",
    "load_heads",
    "model_version",
    "save_heads",
]

HEADS_FORMAT = 2
#: every detector head, in the order of the rows of ``W``
KINDS = ("frustration", "complaint", "buying_signal", "ask", "commitment")
PROFILES = ("balanced", "precision", "recall")
#: tokens per passage (consecutive sentences joined) for passage-level detectors
PASSAGE_TOKENS = 96
TRAIN_HINT = "run `triage train` to build it"
FloatArray = npt.NDArray[np.float64]


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


@dataclass
class Heads:
    """All detector heads of one trained model (see the module docstring)."""

    encoder_identity: str
    W: FloatArray
    b: FloatArray
    #: kind -> "passage" | "sentence"
    levels: dict[str, str]
    #: kind -> profile -> threshold (0..1) on the unit-level score
    thresholds: dict[str, dict[str, float]]
    #: a passage is encoded only when one of its sentences scores at least this for a passage detector
    passage_gate: float = 0.05
    subtype_labels: dict[str, list[str]] = field(default_factory=dict)
    subtype_W: dict[str, FloatArray] = field(default_factory=dict)
    subtype_b: dict[str, FloatArray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    file_hash: str = ""

    def scores(self, vectors: npt.NDArray[np.float32]) -> FloatArray:
        """Probabilities (n, len(KINDS)) for L2-normalised sentence/passage vectors (n, 384)."""
        if not len(vectors):
            return np.zeros((0, len(KINDS)))
        return _sigmoid(np.asarray(vectors, dtype=np.float64) @ self.W.T + self.b)

    def subtype_index(self, kind: str, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        """Index into ``subtype_labels[kind]`` per vector (-1 when the detector has no subtypes)."""
        if not self.subtype_labels.get(kind):
            return np.full(len(vectors), -1, dtype=np.int64)
        z = np.asarray(vectors, dtype=np.float64) @ self.subtype_W[kind].T + self.subtype_b[kind]
        out: npt.NDArray[np.int64] = z.argmax(axis=1)
        return out

    def subtype(self, kind: str, vectors: npt.NDArray[np.float32]) -> list[str | None]:
        labels = self.subtype_labels.get(kind)
        return [labels[i] if labels and i >= 0 else None for i in self.subtype_index(kind, vectors)]

    def threshold(self, kind: str, profile: str = "balanced") -> float:
        known = self.thresholds.get(kind, {})
        if profile not in known:
            raise DetectorError(f"unknown threshold profile {profile!r} for {kind} (have: {', '.join(sorted(known))})")
        return known[profile]

    def level(self, kind: str) -> str:
        return self.levels.get(kind, "sentence")


def model_version(encoder_identity: str, heads_hash: str) -> str:
    """The name of what computes a score: the encoder and the heads (the score cache's namespace)."""
    return f"{encoder_identity[:16]}-{heads_hash[:16]}"


def head_paths(models_dir: Path) -> tuple[Path, Path]:
    return Path(models_dir) / "heads.json", Path(models_dir) / "heads.npz"


def head_file_hash(models_dir: Path) -> str:
    """sha256 of the two head files (their identity in detector versions); ModelNotFoundError if absent."""
    h = hashlib.sha256()
    for p in head_paths(models_dir):
        try:
            h.update(p.read_bytes())
        except FileNotFoundError:
            raise ModelNotFoundError(f"the detector heads are missing ({p}); {TRAIN_HINT}") from None
        except OSError as e:
            raise DetectorError(f"cannot read {p}: {e.strerror}") from e
    return h.hexdigest()


def save_heads(heads: Heads, models_dir: Path) -> str:
    """Write ``heads.json`` + ``heads.npz`` into ``models_dir``; return their hash."""
    meta_path, arr_path = head_paths(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"W": heads.W.astype(np.float32), "b": heads.b.astype(np.float32)}
    for kind in heads.subtype_labels:
        arrays[f"sub_{kind}_W"] = heads.subtype_W[kind].astype(np.float32)
        arrays[f"sub_{kind}_b"] = heads.subtype_b[kind].astype(np.float32)
    with arr_path.open("wb") as f:
        np.savez_compressed(f, **arrays)
    meta = {
        "format": HEADS_FORMAT,
        "kinds": list(KINDS),
        "encoder_identity": heads.encoder_identity,
        "levels": heads.levels,
        "thresholds": heads.thresholds,
        "passage_gate": heads.passage_gate,
        "passage_tokens": PASSAGE_TOKENS,
        "subtype_labels": heads.subtype_labels,
        "meta": heads.meta,
    }
    meta_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return head_file_hash(models_dir)


def load_heads(models_dir: Path, *, encoder_identity: str | None) -> Heads:
    """Load the heads; refuse heads trained for another encoder (unless ``encoder_identity`` is None)."""
    file_hash = head_file_hash(models_dir)
    meta_path, arr_path = head_paths(models_dir)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(arr_path) as z:
            arr = {k: z[k].astype(np.float64) for k in z.files}
    except (OSError, ValueError) as e:
        raise DetectorError(f"the detector heads in {models_dir} are unreadable ({e}); {TRAIN_HINT}") from e
    if meta.get("format") != HEADS_FORMAT or tuple(meta.get("kinds", ())) != KINDS:
        raise DetectorError(f"{meta_path} is not a format-{HEADS_FORMAT} head file for {', '.join(KINDS)}; "
                            f"{TRAIN_HINT}")
    if encoder_identity is not None and meta.get("encoder_identity") != encoder_identity:
        raise DetectorError(
            f"the detector heads were trained for encoder {str(meta.get('encoder_identity'))[:12]} but the "
            f"encoder here is {encoder_identity[:12]} (models/encoder/ or the base weights changed); {TRAIN_HINT}"
        )
    try:
        labels = {k: list(v) for k, v in meta.get("subtype_labels", {}).items()}
        heads = Heads(
            encoder_identity=meta["encoder_identity"], W=arr["W"], b=arr["b"], levels=dict(meta["levels"]),
            thresholds={k: {p: float(t) for p, t in v.items()} for k, v in meta["thresholds"].items()},
            passage_gate=float(meta.get("passage_gate", 0.05)), subtype_labels=labels,
            subtype_W={k: arr[f"sub_{k}_W"] for k in labels}, subtype_b={k: arr[f"sub_{k}_b"] for k in labels},
            meta=dict(meta.get("meta", {})), file_hash=file_hash,
        )
    except KeyError as e:
        raise DetectorError(f"the detector heads in {models_dir} lack {e}; {TRAIN_HINT}") from e
    if heads.W.shape[0] != len(KINDS) or heads.b.shape != (len(KINDS),):
        raise DetectorError(f"the detector heads in {models_dir} have the wrong shape {heads.W.shape}; {TRAIN_HINT}")
    return heads
