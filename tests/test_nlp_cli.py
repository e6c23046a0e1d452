"""The NLP commands for real: score-text (JSONL in/out), train (on a small copy of the data), help texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main
from triage.nlp.encoder import encoder_identity
from triage.nlp.heads import KINDS, load_heads

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


KINDS4 = {"frustration", "complaint", "buying_signal", "ask"}


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
        "",
        {"id": "f", "text": "We were charged twice for November and the invoice lists 120 seats instead of 80."},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    res = run_cli(["score-text", "--explain"], stdin)
    assert res.returncode == 0, res.stderr
    out = [json.loads(line) for line in res.stdout.splitlines()]
    # exactly one line per input line, in order, the blank one included
    assert [o.get("id") for o in out] == ["a", None, "b", 3, None, "c", "d", "e", None, "f"]
    errors = {i for i, o in enumerate(out) if "error" in o}
    assert errors == {1, 2, 4, 7, 8}
    assert "not JSON" in out[1]["error"] and "text" in out[2]["error"] and "party" in out[7]["error"]
    assert "empty line" in out[8]["error"]
    for i in (0, 3, 5, 9):
        o = out[i]
        assert set(o) >= {"id", *KINDS4, "labels"}
        assert all(0.0 <= o[k] <= 1.0 for k in KINDS4)
        assert set(o["labels"]) == KINDS4 and all(isinstance(v, bool) for v in o["labels"].values())
    assert out[0]["labels"]["frustration"] and not out[0]["labels"]["buying_signal"]
    churn = next(s for s in out[0]["signals"] if s["kind"] == "frustration")
    assert churn["sentence"] == "We are looking at alternatives." and churn["intensity"] >= 0.95
    assert out[3]["labels"]["buying_signal"] and out[3]["labels"]["ask"] and not out[3]["labels"]["frustration"]
    assert any(s["kind"] == "ask" and s["due_date"] == "2026-11-20" for s in out[3]["signals"])
    assert not any(out[5]["labels"].values())
    assert out[6]["labels"] == {"commitment": True} and out[6]["signals"][0]["due_date"] == "2026-11-18"
    assert out[9]["labels"]["complaint"] and not out[9]["labels"]["buying_signal"]
    assert next(s for s in out[9]["signals"] if s["kind"] == "complaint")["subtype"] == "billing"
    assert "5 line(s) with errors" in res.stderr
    # without --explain: exactly the documented keys
    plain = run_cli(["score-text", "--threshold-profile", "precision"], json.dumps(lines[0]) + "\n")
    assert set(json.loads(plain.stdout)) == {"id", *KINDS4, "labels"}


@pytest.mark.slow
def test_score_text_cuts_a_huge_line_like_the_nightly_run_and_goes_on() -> None:
    huge = "The export failed again and nobody answers. " * 50_000  # 2.25 million characters
    stdin = "\n".join([json.dumps({"id": "huge", "text": huge}),
                       json.dumps({"id": "next", "text": "Could you send the quote?"})]) + "\n"
    res = run_cli(["-q", "score-text"], stdin)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    big, nxt = (json.loads(line) for line in res.stdout.splitlines())
    assert big["id"] == "huge" and big["cut"] is True and big["labels"]["complaint"]
    assert nxt["id"] == "next" and nxt["labels"]["ask"] and "cut" not in nxt


@pytest.mark.slow
def test_train_smoke_run_writes_a_model_that_serves_score_text(tmp_path: Path, shared_data: Path) -> None:
    """The whole of `triage train` on a few rows per source (what ships is trained the same way, on all)."""
    models = tmp_path / "models"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[nlp]\nmodels_dir = '{models}'\n")
    res = run_cli(["--config", str(cfg), "-q", "train", "--data-dir", str(shared_data), "--limit", "40",
                   "--epochs", "0.05", "--no-eval"])
    assert res.returncode == 0, res.stderr
    assert "trained into" in res.stdout
    assert {p.name for p in (models / "encoder").iterdir()} == {"adapter_config.json", "adapter_model.safetensors"}
    heads = load_heads(models, encoder_identity=encoder_identity(models))
    assert set(heads.thresholds) == set(KINDS)
    assert heads.meta["rows"]["parakweet-train"] == 40 and heads.meta["finetune"]["steps"] > 0
    assert heads.meta["thresholds_chosen_on"]["frustration"]["chosen_on"].startswith("Berkeley dev messages")
    t = heads.thresholds["frustration"]
    assert t["recall"] <= t["balanced"] <= t["precision"]
    out = run_cli(["--config", str(cfg), "score-text"], json.dumps({"id": 1, "text": "Can you send the quote?"}))
    assert out.returncode == 0, out.stderr
    assert set(json.loads(out.stdout)["labels"]) == KINDS4


def test_missing_heads_are_a_clear_cli_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[nlp]\nmodels_dir = '{tmp_path / 'nothing'}'\n")
    assert main(["--config", str(cfg), "score-text"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the detector heads are missing") and "triage train" in err
