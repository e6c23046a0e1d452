"""`triage eval` for real, and the model card stays true: shipped F1 >= claimed F1 - tolerance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from triage.settings import default_models_dir

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 0.01


def _triage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from triage.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=1200, cwd=REPO, env=dict(os.environ))


@pytest.fixture(scope="module")
def report(shared_data: Path) -> dict[str, Any]:
    res = _triage("-q", "eval", "--json", "--data-dir", str(shared_data))
    assert res.returncode == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def _f1(report: dict[str, Any], detector: str, dataset: str, method: str) -> float:
    [m] = [m for m in report["metrics"] if (m["detector"], m["dataset"], m["method"]) == (detector, dataset, method)]
    assert 0.0 <= m["precision"] <= 1.0 and 0.0 <= m["recall"] <= 1.0 and m["n"] > 0
    return float(m["f1"])


def test_eval_reports_every_detector_next_to_its_baselines(report: dict[str, Any]) -> None:
    fr = _f1(report, "frustration", "goemotions-dev", "model")
    assert fr > _f1(report, "frustration", "goemotions-dev", "baseline: VADER compound") + 0.03
    assert fr > _f1(report, "frustration", "goemotions-dev", "baseline: keyword rules") + 0.03
    ask = _f1(report, "ask", "parakweet-train", "model")
    assert ask > _f1(report, "ask", "parakweet-train", "baseline: keyword rules") + 0.03
    buy = _f1(report, "buying_signal", "buying-seed", "model")
    assert buy > _f1(report, "buying_signal", "buying-seed", "baseline: keyword rules") + 0.03
    for kind in ("frustration", "buying_signal", "ask", "commitment"):
        assert _f1(report, kind, "client-emails", "model") > 0.5
    dev = next(m for m in report["metrics"] if m["dataset"] == "goemotions-dev" and m["method"] == "model")
    assert dev["n"] == 5426  # the whole GoEmotions dev split
    assert report["extras"]["due_dates"]["gold"] > 0


def test_shipped_heads_reach_what_the_model_card_claims(report: dict[str, Any]) -> None:
    claims = json.loads((default_models_dir() / "metrics.json").read_text())["f1"]
    card = (default_models_dir() / "MODEL_CARD.md").read_text()
    assert claims
    for key, claimed in claims.items():
        detector, dataset, method = key.split("|")
        got = _f1(report, detector, dataset, method)
        assert got >= claimed - TOLERANCE, f"{key}: measured F1 {got:.3f} < claimed {claimed:.3f}"
        if method == "model":
            assert f"**{claimed:.3f}**" in card  # the human-readable card says the same


def test_eval_table_output() -> None:
    res = _triage("eval", "--no-cv")
    assert res.returncode == 0, res.stderr
    for word in ("frustration", "buying_signal", "ask", "baseline: VADER compound", "baseline: keyword rules",
                 "F1", "due dates on the sanity set"):
        assert word in res.stdout
