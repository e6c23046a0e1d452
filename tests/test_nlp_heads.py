"""The shipped model: small, loads for its own encoder only, says how to rebuild what is missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.errors import DetectorError, ModelNotFoundError
from triage.learn.metrics import calm_thresholds, pick_thresholds
from triage.nlp.encoder import encoder_hash, encoder_identity
from triage.nlp.heads import KINDS, PROFILES, head_file_hash, load_heads
from triage.nlp.runtime import PipelineSpec, effective_thresholds, pipeline_version
from triage.settings import default_models_dir

MODELS = default_models_dir()


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(MODELS, dst, ignore=shutil.ignore_patterns(".build"))
    return dst


def test_what_ships_is_small_and_names_its_encoder() -> None:
    identity = encoder_identity(MODELS)
    assert identity != encoder_hash()  # the adapter changes the encoder
    heads = load_heads(MODELS, encoder_identity=identity)
    assert heads.W.shape == (len(KINDS), 384) and heads.b.shape == (len(KINDS),)
    for kind in KINDS:
        assert set(heads.thresholds[kind]) == set(PROFILES)
        assert all(0.0 < t < 1.0 for t in heads.thresholds[kind].values())
    assert heads.level("frustration") == heads.level("complaint") == "passage"
    assert heads.level("ask") == "sentence"
    shipped = [p for p in MODELS.rglob("*") if p.is_file() and ".build" not in p.parts]
    size = sum(p.stat().st_size for p in shipped)
    assert size < 10_000_000, f"models/ holds {size} bytes"
    adapter = sum(p.stat().st_size for p in (MODELS / "encoder").iterdir())
    assert adapter < 3_000_000
    assert not [p for p in shipped if p.suffix == ".onnx"]
    assert identity in (MODELS / "MODEL_CARD.md").read_text()


def test_heads_for_another_encoder_are_refused(models_copy: Path) -> None:
    path = models_copy / "heads.json"
    meta = json.loads(path.read_text())
    meta["encoder_identity"] = "0" * 64
    path.write_text(json.dumps(meta))
    with pytest.raises(DetectorError, match=r"trained for encoder 000000000000.*triage train"):
        load_heads(models_copy, encoder_identity=encoder_identity(models_copy))


def test_a_changed_adapter_changes_the_encoder_identity(models_copy: Path) -> None:
    before = encoder_identity(models_copy)
    cfg = models_copy / "encoder" / "adapter_config.json"
    cfg.write_text(cfg.read_text() + " ")
    assert encoder_identity(models_copy) != before
    with pytest.raises(DetectorError, match="trained for encoder"):
        load_heads(models_copy, encoder_identity=encoder_identity(models_copy))
    shutil.rmtree(models_copy / "encoder")
    assert encoder_identity(models_copy) == encoder_hash()  # no adapter: the base encoder


def test_missing_or_broken_files_say_how_to_rebuild(models_copy: Path) -> None:
    (models_copy / "encoder" / "adapter_model.safetensors").unlink()
    with pytest.raises(DetectorError, match=r"lacks adapter_model\.safetensors.*triage train"):
        encoder_identity(models_copy)
    (models_copy / "heads.npz").write_bytes(b"not a zip")
    with pytest.raises(DetectorError, match="unreadable"):
        load_heads(models_copy, encoder_identity=None)
    (models_copy / "heads.npz").unlink()
    with pytest.raises(ModelNotFoundError, match="triage train"):
        load_heads(models_copy, encoder_identity=None)
    with pytest.raises(ModelNotFoundError, match="heads are missing"):
        pipeline_version(PipelineSpec(models_dir=str(models_copy)))


def test_pipeline_version_follows_heads_thresholds_and_backend(models_copy: Path) -> None:
    base = PipelineSpec(models_dir=str(models_copy))
    v = pipeline_version(base)
    assert v == pipeline_version(PipelineSpec(models_dir=str(models_copy)))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), thresholds=(("ask", 0.9),)))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), backend="torch"))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), profile="precision"))
    old = head_file_hash(models_copy)
    meta = json.loads((models_copy / "heads.json").read_text())
    meta["thresholds"]["complaint"]["balanced"] = 0.5
    (models_copy / "heads.json").write_text(json.dumps(meta))
    assert head_file_hash(models_copy) != old
    assert pipeline_version(base) != v
    assert effective_thresholds(base)["complaint"] == 0.5


def test_thresholds_per_profile_are_ordered() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.2
    p = np.clip(y * 0.35 + rng.random(2000) * 0.65, 0, 1)
    t = pick_thresholds(y.tolist(), p)
    assert t["recall"] <= t["balanced"] <= t["precision"]


def test_calm_thresholds_flag_at_most_the_wanted_share() -> None:
    calm = np.random.default_rng(1).random(1000) ** 3
    t = calm_thresholds(calm)
    for profile, rate in (("balanced", 0.04), ("precision", 0.02), ("recall", 0.08)):
        flagged = float((calm >= t[profile]).mean())
        assert flagged <= rate and flagged >= rate - 0.002
    assert t["recall"] <= t["balanced"] <= t["precision"]
    # with the units that should fire: no lower than needed to find the ones found at that calm share
    negative = np.array([0.99, 0.95, 0.2, 0.1])
    t2 = calm_thresholds(calm, negative)
    for profile in t:
        assert t2[profile] >= t[profile] and float((calm >= t2[profile]).mean()) <= float((calm >= t[profile]).mean())
        assert (negative >= t2[profile]).sum() == (negative >= t[profile]).sum()


def test_onnx_vectors_do_not_depend_on_batch_mates() -> None:
    """Dynamic int8 quantization scales whole input tensors: the encoder must encode sentences alone."""
    from triage.nlp.encoder import load_encoder

    enc = load_encoder("onnx", MODELS, threads=2)
    texts = ["Can you send the quote by Friday?", "Thanks!", "This is the third time I'm raising the SSO outage, "
             "and our dispatchers still cannot log in on Monday mornings.", "We'd like 40 more seats."]
    together = enc.encode(texts)
    alone = np.vstack([enc.encode([t]) for t in texts])
    shuffled = enc.encode(texts[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, shuffled)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # close to the fp32 torch encoder (base + the same adapter) it was exported from
    ref = load_encoder("torch", MODELS).encode(texts)
    assert float((together * ref).sum(axis=1).min()) > 0.95
    # and not the base encoder: the adapter is merged
    base = load_encoder("torch", MODELS, base_only=True).encode(texts)
    assert float((ref * base).sum(axis=1).min()) < 0.999
