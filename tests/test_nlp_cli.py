"""The NLP commands for real: score-text (JSONL in/out), train (on a small copy of the data), help texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main
from triage.nlp.encoder import encoder_hash
from triage.nlp.heads import KINDS, load_head
from triage.settings import default_models_dir

REPO = Path(__file__).resolve().parent.parent
TRIAGE = [sys.executable, "-c", "import sys; from triage.cli import main; sys.exit(main())"]


def run_cli(args: list[str], stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRIAGE, *args], input=stdin, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})}, cwd=REPO)


@pytest.mark.parametrize("cmd", ["eval", "score-text", "train"])
def test_help_has_examples(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([cmd, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and f"triage {cmd}" in out


@pytest.mark.slow
def test_score_text_jsonl_roundtrip_with_bad_lines() -> None:
    lines = [
        {"id": "a", "text": "This is the third time the export failed. We are looking at alternatives."},
        "this is not json",
        {"id": "b"},
        {"id": 3, "text": "Could you send us a quote for 25 more seats by Friday?", "date": "2026-11-18"},
        {"text": "no id"},
        {"id": "c", "text": "Thanks, have a lovely weekend!"},
        {"id": "d", "text": "I'll send the signed order form by EOD.", "party": "us", "date": "2026-11-18"},
        {"id": "e", "text": "Hello", "party": "boss"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n\n"
    res = run_cli(["score-text", "--explain"], stdin)
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", None, "b", 3, None, "c", "d", "e"]  # one line per input, in order
    errors = {i for i, o in enumerate(out) if "error" in o}
    assert errors == {1, 2, 4, 7}
    assert "not JSON" in out[1]["error"] and "text" in out[2]["error"] and "party" in out[7]["error"]
    for i in (0, 3, 5):
        o = out[i]
        assert set(o) >= {"id", "frustration", "buying_signal", "ask", "labels"}
        assert all(0.0 <= o[k] <= 1.0 for k in ("frustration", "buying_signal", "ask"))
        assert set(o["labels"]) == {"frustration", "buying_signal", "ask"}
        assert all(isinstance(v, bool) for v in o["labels"].values())
    assert out[0]["labels"]["frustration"] and not out[0]["labels"]["buying_signal"]
    assert out[3]["labels"] == {"frustration": False, "buying_signal": True, "ask": True}
    assert any(s["kind"] == "ask" and s["due_date"] == "2026-11-20" for s in out[3]["signals"])
    assert out[5]["labels"] == {"frustration": False, "buying_signal": False, "ask": False}
    assert out[6]["labels"]["commitment"] and out[6]["signals"][0]["due_date"] == "2026-11-18"
    assert "4 line(s) with errors" in res.stderr
    # without --explain: exactly the documented keys
    plain = run_cli(["score-text", "--threshold-profile", "precision"], json.dumps(lines[0]) + "\n")
    assert set(json.loads(plain.stdout)) == {"id", "frustration", "buying_signal", "ask", "labels"}


def _small_data(shared: Path, dst: Path) -> Path:
    (dst / "goemotions").mkdir(parents=True)
    (dst / "parakweet-email-intent").mkdir()
    for split, n in (("train", 1500), ("dev", 300)):
        rows = (shared / "goemotions" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[:n]
        (dst / "goemotions" / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    pk = (shared / "parakweet-email-intent" / "train_Ask0729-fixed.txt").read_text(encoding="utf-8").splitlines()
    (dst / "parakweet-email-intent" / "train_Ask0729-fixed.txt").write_text("\n".join(pk[::8]) + "\n", encoding="utf-8")
    return dst


@pytest.mark.slow
def test_train_writes_heads_card_and_metrics(tmp_path: Path, shared_data: Path) -> None:
    data = _small_data(shared_data, tmp_path / "data")
    models = tmp_path / "models"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[nlp]\nmodels_dir = '{models}'\ncache_dir = '{default_models_dir() / '.build'}'\n")
    res = run_cli(["--config", str(cfg), "-q", "train", "--data-dir", str(data)])
    assert res.returncode == 0, res.stderr
    assert "Trained heads" in res.stdout and "MODEL_CARD.md" in res.stdout
    enc = encoder_hash()
    for kind in KINDS:
        head = load_head(models, kind, encoder_hash=enc)
        assert head.meta["n"] > 0 and head.thresholds["balanced"] > 0
    card = (models / "MODEL_CARD.md").read_text()
    assert enc in card and "onnx-int8" in card and "| frustration | goemotions-dev | model |" in card
    metrics = json.loads((models / "metrics.json").read_text())
    assert metrics["encoder_hash"] == enc and "ask|parakweet-train|model" in metrics["f1"]
    # the freshly trained heads serve score-text right away
    out = run_cli(["--config", str(cfg), "score-text"], json.dumps({"id": 1, "text": "Can you send the quote?"}))
    assert out.returncode == 0 and json.loads(out.stdout)["labels"]["ask"] is True


def test_missing_heads_are_a_clear_cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[nlp]\nmodels_dir = '{tmp_path / 'nothing'}'\n")
    assert main(["--config", str(cfg), "score-text"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the frustration head is missing") and "triage train" in err
