"""Shipped heads: they load, refuse another encoder, say how to build them when missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.errors import DetectorError, ModelNotFoundError
from triage.nlp.encoder import encoder_hash
from triage.nlp.heads import KINDS, Lexicon, head_file_hash, load_head
from triage.nlp.runtime import PipelineSpec, effective_thresholds, pipeline_version
from triage.nlp.train import pick_thresholds
from triage.settings import default_models_dir

MODELS = default_models_dir()


@pytest.fixture
def models_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(MODELS, dst, ignore=shutil.ignore_patterns(".build"))
    return dst


def test_shipped_heads_load_for_the_installed_encoder_and_are_small() -> None:
    enc = encoder_hash()
    for kind in KINDS:
        head = load_head(MODELS, kind, encoder_hash=enc)
        assert head.encoder_hash == enc
        assert set(head.thresholds) == {"balanced", "precision", "recall"}
        assert all(0.0 < t < 1.0 for t in head.thresholds.values())
        assert head.emb.coef.shape == (384,)
        assert head.meta["encoder_backend"] == "onnx-int8"
        size = sum(p.stat().st_size for p in MODELS.glob(f"{kind}.*"))
        assert size < 1_000_000, f"{kind} head is {size} bytes"
    card = (MODELS / "MODEL_CARD.md").read_text()
    assert enc in card  # the card names the encoder hash
    assert not list(MODELS.glob("*.onnx")) and not list(MODELS.glob("*.safetensors"))


def test_head_for_another_encoder_is_refused(models_copy: Path) -> None:
    path = models_copy / "ask.json"
    meta = json.loads(path.read_text())
    meta["encoder_hash"] = "0" * 64
    path.write_text(json.dumps(meta))
    with pytest.raises(DetectorError, match=r"trained for encoder 000000000000.*triage train"):
        load_head(models_copy, "ask", encoder_hash=encoder_hash())


def test_missing_head_says_how_to_build_it(models_copy: Path) -> None:
    (models_copy / "buying_signal.npz").unlink()
    with pytest.raises(ModelNotFoundError, match="triage train"):
        load_head(models_copy, "buying_signal", encoder_hash=encoder_hash())
    with pytest.raises(ModelNotFoundError, match="buying_signal head is missing"):
        pipeline_version(PipelineSpec(models_dir=str(models_copy)))


def test_corrupt_head_is_a_clear_error(models_copy: Path) -> None:
    (models_copy / "frustration.npz").write_bytes(b"not a zip")
    with pytest.raises(DetectorError, match="unreadable"):
        load_head(models_copy, "frustration", encoder_hash=encoder_hash())


def test_pipeline_version_follows_heads_thresholds_and_backend(models_copy: Path) -> None:
    base = PipelineSpec(models_dir=str(models_copy))
    v = pipeline_version(base)
    assert v == pipeline_version(PipelineSpec(models_dir=str(models_copy)))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), thresholds=(("ask", 0.9),)))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), backend="torch"))
    assert v != pipeline_version(PipelineSpec(models_dir=str(models_copy), profile="precision"))
    old = head_file_hash(models_copy, "ask")
    meta = json.loads((models_copy / "ask.json").read_text())
    meta["thresholds"]["balanced"] = 0.5
    (models_copy / "ask.json").write_text(json.dumps(meta))
    assert head_file_hash(models_copy, "ask") != old
    assert pipeline_version(base) != v
    assert effective_thresholds(base)["ask"] == 0.5


def test_lexicon_matches_sklearn_tfidf() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["Could you send the quote?", "We need more seats, could you send a quote", "the quote the quote",
             "Thanks a lot", "Please send the invoice"]
    ours = Lexicon.fit(texts, min_df=1, max_terms=10_000)
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    ref_m = ref.fit_transform(texts)
    assert sorted(ours.terms) == sorted(ref.get_feature_names_out())
    order = [ours.index[t] for t in ref.get_feature_names_out()]
    np.testing.assert_allclose(ours.transform(texts).toarray()[:, order], ref_m.toarray(), atol=1e-9)


def test_thresholds_per_profile_are_ordered() -> None:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.2
    p = np.clip(y * 0.35 + rng.random(2000) * 0.65, 0, 1)
    t = pick_thresholds(y.tolist(), p)
    assert t["recall"] <= t["balanced"] <= t["precision"]


def test_onnx_vectors_do_not_depend_on_batch_mates() -> None:
    """Dynamic int8 quantization scales whole input tensors: the encoder must encode sentences alone."""
    from triage.nlp.encoder import load_encoder

    enc = load_encoder("onnx", default_models_dir(), threads=2)
    texts = ["Can you send the quote by Friday?", "Thanks!", "This is the third time I'm raising the SSO outage, "
             "and our dispatchers still cannot log in on Monday mornings.", "We'd like 40 more seats."]
    together = enc.encode(texts)
    alone = np.vstack([enc.encode([t]) for t in texts])
    shuffled = enc.encode(texts[::-1])[::-1]
    assert np.array_equal(together, alone) and np.array_equal(together, shuffled)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # and close to the fp32 torch encoder it was exported from
    ref = load_encoder("torch", default_models_dir()).encode(texts)
    assert float((together * ref).sum(axis=1).min()) > 0.95
