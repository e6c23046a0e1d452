"""Building the encoder: the base weights merged with our fine-tuning (peft LoRA adapter, or replaced
tensors), loaded in torch, and exported to int8 ONNX. Only the first use of an encoder (its export,
:func:`triage.nlp.encoder.load_encoder`), the torch backend and training import torch through here;
the nightly run's ONNX path never does once the export exists.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from triage.errors import DetectorError
from triage.log import get_logger
from triage.progress import track

__all__ = ["WEIGHTS_FILE", "export_onnx_int8", "load_torch_model", "offline_hf"]

log = get_logger("nlp.build")

#: in the adapter folder: the tensors a top-layers / full fine-tune replaced (instead of a LoRA adapter)
WEIGHTS_FILE = "weights.safetensors"


def offline_hf() -> None:
    """No network, and no progress bars or advice from transformers on our terminal (logs are ours)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover - a dependency
        pass


def load_torch_model(model_dir: Path, adapter: Path | None = None) -> Any:
    """The base model, with the LoRA adapter merged into its weights when ``adapter`` is given."""
    offline_hf()
    try:
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    except Exception as e:  # transformers raises many types (OSError, ValueError, ...)
        raise DetectorError(f"cannot load the encoder from {model_dir}: {e}") from e
    if adapter is not None:
        try:
            if (adapter / WEIGHTS_FILE).is_file():
                from safetensors.torch import load_file

                replaced = load_file(str(adapter / WEIGHTS_FILE))
                state = model.state_dict()
                unknown = sorted(set(replaced) - set(state))
                if unknown:
                    raise ValueError(f"tensors the base model does not have: {unknown[:3]}")
                model.load_state_dict({**state, **{k: v.to(state[k].dtype) for k, v in replaced.items()}})
            else:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        except Exception as e:  # peft/safetensors/torch raise assorted errors for a broken artefact
            raise DetectorError(f"cannot merge the encoder adapter {adapter}: {e}; run `triage train`") from e
    model.eval()
    return model


def export_onnx_int8(model_dir: Path, target: Path, adapter: Path | None = None) -> Path:
    """Export the encoder (merged with ``adapter``) to ONNX and quantize it (int8, dynamic, per channel).

    Written to a temp file and renamed, so concurrent processes never see half a model.
    """
    what = "the base encoder" if adapter is None else "the fine-tuned encoder"
    with track(f"Building {what} (once)", 3) as progress:
        model = load_torch_model(model_dir, adapter)
        progress.advance()
        _export_quantized(model, target, progress)
    log.info("exported the int8 ONNX encoder to %s", target)
    return target


class _QuietQuantizer(logging.Filter):
    """onnxruntime's quantizer advises "pre-processing" on the root logger; nothing a user can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider to run pre-processing")


def _export_quantized(model: Any, target: Path, progress: Any) -> None:
    """torch.onnx.export of the last hidden state, then dynamic int8 quantization; written to a temp file
    and renamed. The exporter's tracer warnings are about code paths this model does not take."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    quiet = _QuietQuantizer()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        int8 = Path(tmp) / "model.int8.onnx"
        dummy = torch.ones(2, 16, dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        logging.getLogger().addFilter(quiet)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _Hidden(model),
                    (dummy, torch.ones_like(dummy)),
                    str(fp32),
                    input_names=["input_ids", "attention_mask"],
                    output_names=["hidden"],
                    dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes},
                    opset_version=17,
                    dynamo=False,
                )
                progress.advance()
                quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
                progress.advance()
        except Exception as e:  # torch/onnx raise assorted errors; map them to ours
            raise DetectorError(f"exporting the encoder to ONNX failed: {e}") from e
        finally:
            logging.getLogger().removeFilter(quiet)
        os.replace(int8, target)
