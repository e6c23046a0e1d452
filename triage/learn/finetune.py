"""Multi-task fine-tuning of all-MiniLM-L6-v2 on these 2 cores (torch + peft).

One encoder, one linear head per detector on the mean-pooled, L2-normalised sentence vector (the
vector production computes). Each training row carries labels for some detectors only (a GoEmotions
comment says nothing about asks); the loss of a batch is, per detector, the mean binary cross-entropy
over the rows that carry its label, summed over detectors, so a small task is not drowned by a large one.

Modes (``FinetuneConfig.mode``):

* ``lora``: LoRA adapters (rank ``rank``) on every linear layer of the six transformer blocks; the
  artefact that ships is the peft adapter (~1.3 MB in fp16) and is merged into the package's base
  weights at first run;
* ``top``: the top ``top_layers`` blocks fully trained, the rest frozen (artefact: those blocks, fp16,
  ``weights.safetensors``, replacing the base tensors at first run);
* ``full``: every block trained (embeddings frozen); the artefact (~21 MB in fp16) is over the 10 MB a
  shipped model may take, so it is measured as the ceiling, not shipped.

Training uses bf16 autocast on CPUs that have it (AVX-512 BF16 / AMX make it ~2x faster) and length-
bucketed batches. Seeds are fixed; on the same machine and versions a run is repeatable.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from triage.errors import DetectorError
from triage.log import get_logger
from triage.nlp.build import offline_hf

__all__ = ["LORA_TARGETS", "FinetuneConfig", "FinetuneResult", "TrainRow", "finetune", "save_artefact"]

log = get_logger("learn.finetune")

#: the linear layers of a BERT block that get LoRA adapters
LORA_TARGETS = ["query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"]


@dataclass(frozen=True)
class TrainRow:
    text: str
    #: detector -> 0/1 label, only for the detectors this row says something about
    labels: dict[str, float]
    weight: float = 1.0


@dataclass(frozen=True)
class FinetuneConfig:
    mode: str = "lora"
    rank: int = 16
    top_layers: int = 2
    #: a second epoch measurably helps every detector (complaint AP 0.916 -> 0.936, GoEmotions F1 0.484 ->
    #: 0.503 in bench/compare_finetune.py's protocol); a third was not measured
    epochs: float = 2.0
    batch_size: int = 32
    lr: float | None = None
    head_lr: float = 2e-2
    max_tokens: int = 128
    seed: int = 0
    threads: int = 0

    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return {"lora": 5e-4, "top": 5e-5, "full": 3e-5}[self.mode]


@dataclass
class FinetuneResult:
    model: Any  # a transformers BertModel with the fine-tuned weights (LoRA still unmerged)
    kinds: list[str]
    head_weight: np.ndarray
    head_bias: np.ndarray
    seconds: float
    steps: int
    trainable: int
    losses: list[float] = field(default_factory=list)


def _device_supports_bf16() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _prepare_model(base_dir: Path, cfg: FinetuneConfig) -> Any:
    from transformers import AutoModel


    offline_hf()
    model = AutoModel.from_pretrained(str(base_dir), local_files_only=True)
    if cfg.mode == "lora":
        from peft import LoraConfig, get_peft_model

        peft_cfg = LoraConfig(r=cfg.rank, lora_alpha=2 * cfg.rank, lora_dropout=0.1, target_modules=LORA_TARGETS)
        return get_peft_model(model, peft_cfg)
    n_layers = int(model.config.num_hidden_layers)
    if cfg.mode == "top":
        trained = {f"encoder.layer.{i}." for i in range(n_layers - cfg.top_layers, n_layers)}
        for name, p in model.named_parameters():
            p.requires_grad = any(name.startswith(t) for t in trained)
        return model
    if cfg.mode == "full":
        for name, p in model.named_parameters():
            p.requires_grad = not name.startswith("embeddings.")
        return model
    raise DetectorError(f"unknown fine-tuning mode {cfg.mode!r} (lora, top or full)")


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Length-bucketed batches: shuffle, sort within chunks of 50 batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    out: list[list[int]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: lengths[j])
        out.extend(part[k : k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(out)
    return out


def finetune(
    base_dir: Path, rows: Sequence[TrainRow], kinds: Sequence[str], cfg: FinetuneConfig,
    *, progress: Callable[[int, int, float], None] | None = None,
) -> FinetuneResult:
    """Fine-tune the encoder and the linear heads on ``rows`` (see the module docstring)."""
    import torch
    from tokenizers import Tokenizer

    if not rows:
        raise DetectorError("no training rows")
    threads = cfg.threads or max(1, torch.get_num_threads())
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    kinds = list(kinds)
    tok = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(cfg.max_tokens)
    ids = [e.ids for e in tok.encode_batch([r.text for r in rows])]
    y = np.array([[r.labels.get(k, 0.0) for k in kinds] for r in rows], dtype=np.float32)
    m = np.array([[r.weight if k in r.labels else 0.0 for k in kinds] for r in rows], dtype=np.float32)
    model = _prepare_model(base_dir, cfg)
    heads = torch.nn.Linear(int(model.config.hidden_size), len(kinds))
    params = [p for p in model.parameters() if p.requires_grad]
    trainable = sum(p.numel() for p in params)
    opt = torch.optim.AdamW([{"params": params, "lr": cfg.learning_rate()},
                             {"params": heads.parameters(), "lr": cfg.head_lr}], weight_decay=0.01)
    total = max(1, math.ceil(len(rows) / cfg.batch_size * cfg.epochs))
    warmup = min(50, total // 10 + 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / total))
    bf16 = _device_supports_bf16()
    lengths = [len(x) for x in ids]
    started = time.monotonic()
    step = 0
    losses: list[float] = []
    model.train()
    while step < total:
        for batch in _batches(lengths, cfg.batch_size, rng):
            if step >= total:
                break
            width = max(lengths[i] for i in batch)
            t_ids = torch.zeros(len(batch), width, dtype=torch.long)
            t_mask = torch.zeros(len(batch), width, dtype=torch.long)
            for row, i in enumerate(batch):
                t_ids[row, : lengths[i]] = torch.tensor(ids[i])
                t_mask[row, : lengths[i]] = 1
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                hidden = model(input_ids=t_ids, attention_mask=t_mask,
                               token_type_ids=torch.zeros_like(t_ids)).last_hidden_state
            mask_f = t_mask.unsqueeze(-1).float()
            pooled = (hidden.float() * mask_f).sum(1) / mask_f.sum(1).clamp(min=1e-9)
            logits = heads(torch.nn.functional.normalize(pooled, dim=-1))
            yb, mb = torch.from_numpy(y[batch]), torch.from_numpy(m[batch])
            bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, yb, reduction="none")
            loss = ((bce * mb).sum(0) / mb.sum(0).clamp(min=1e-9)).sum()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params + list(heads.parameters()), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            losses.append(float(loss.item()))
            if progress is not None:
                progress(step, total, losses[-1])
    model.eval()
    seconds = time.monotonic() - started
    log.info("fine-tuned (%s) %d steps in %.0f s, %d trainable parameters", cfg.mode, step, seconds, trainable)
    return FinetuneResult(model, kinds, heads.weight.detach().numpy().astype(np.float64),
                          heads.bias.detach().numpy().astype(np.float64), seconds, step, trainable, losses)


def save_artefact(result: FinetuneResult, cfg: FinetuneConfig, target: Path) -> list[Path]:
    """Write what ships: the LoRA adapter (fp16 safetensors) or the trained top blocks; returns the files."""
    import torch
    from safetensors.torch import save_file

    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        if old.is_file():
            old.unlink()
    if cfg.mode == "lora":
        result.model.save_pretrained(str(target), safe_serialization=True)
        weights = target / "adapter_model.safetensors"
        from safetensors.torch import load_file

        tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(weights)).items()}
        save_file(tensors, str(weights))
        (target / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
        for p in target.iterdir():
            p.chmod(0o644)
        return sorted(p for p in target.iterdir() if p.is_file())
    # top / full: the tensors that training changed, in fp16 (a full fine-tune is ~40 MB: measured, not shipped)
    trained = {n for n, p in result.model.named_parameters() if p.requires_grad}
    state = {k: v.to(torch.float16).contiguous() for k, v in result.model.state_dict().items() if k in trained}
    save_file(state, str(target / "weights.safetensors"))
    (target / "weights.safetensors").chmod(0o644)
    return [target / "weights.safetensors"]
