"""`triage eval` for real, and the model card stays true: the shipped model reaches what it claims."""

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
#: measured across fresh installs on two CPUs (see models/MODEL_CARD.md, Reproducibility): 0.01, or two
#: units decided the other way on a small set (int8 kernels differ between AVX2 and AVX-512 VNNI CPUs)
TOLERANCE = 0.01
FLIPS = 2


def tolerance(row: dict[str, Any], what: str) -> float:
    units = row["n"] - row["positives"] if what == "false_alarms" else row["positives"]
    return max(TOLERANCE, FLIPS / max(units, 1))


def _triage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "import sys; from triage.cli import main; sys.exit(main())", *args],
                          capture_output=True, text=True, timeout=1500, cwd=REPO, env=dict(os.environ))


@pytest.fixture(scope="module")
def report(shared_data: Path) -> dict[str, Any]:
    res = _triage("-q", "eval", "--json", "--data-dir", str(shared_data))
    assert res.returncode == 0, res.stderr
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def _row(report: dict[str, Any], detector: str, dataset: str, method: str) -> dict[str, Any]:
    [m] = [m for m in report["metrics"] if (m["detector"], m["dataset"], m["method"]) == (detector, dataset, method)]
    assert 0.0 <= m["precision"] <= 1.0 and 0.0 <= m["recall"] <= 1.0 and m["n"] > 0
    return m


def test_the_headline_is_real_external_data_next_to_baselines(report: dict[str, Any]) -> None:
    rows = report["metrics"]
    headline = {(m["detector"], m["dataset"]) for m in rows if m["external"] and m["method"] == "model"}
    assert {("complaint", "complaints-test"), ("frustration", "goemotions-dev"), ("ask", "parakweet-test"),
            ("ask", "mailex-dev-turns"), ("frustration", "berkeley-dev"),
            ("frustration or complaint", "berkeley-dev")} <= headline
    for detector, dataset in (("complaint", "complaints-test"), ("frustration", "goemotions-dev"),
                              ("ask", "parakweet-test"), ("ask", "mailex-dev-turns")):
        model = _row(report, detector, dataset, "model")["f1"]
        methods = {m["method"] for m in rows if (m["detector"], m["dataset"]) == (detector, dataset)}
        assert "baseline: keyword rules" in methods and any(x.startswith("baseline: v1") for x in methods)
        for m in rows:
            seen = m["method"].endswith("(trained on these rows)")  # v1 trained on all of Parakweet
            if (m["detector"], m["dataset"]) == (detector, dataset) and m["method"].startswith("baseline") and not seen:
                assert model > m["f1"], f"{detector} on {dataset}: {m['method']} {m['f1']} >= model {model}"
    # the whole sets, not samples
    assert _row(report, "frustration", "goemotions-dev", "model")["n"] == 5426
    assert _row(report, "frustration", "berkeley-dev", "model")["n"] == 1141
    assert _row(report, "ask", "mailex-dev-turns", "model")["n"] == 251
    # self-written sets are reported, but apart
    own = {m["dataset"] for m in rows if not m["external"]}
    assert {"buying-signals-test", "complaint-seed-test", "commitment-seed-test", "client-emails"} <= own
    assert not own & headline_datasets(rows)


def headline_datasets(rows: list[dict[str, Any]]) -> set[str]:
    return {m["dataset"] for m in rows if m["external"]}


def test_calm_business_mail_is_rarely_flagged(report: dict[str, Any]) -> None:
    fr = _row(report, "frustration", "berkeley-dev", "model")
    assert fr["false_alarms"] <= 0.05
    cross = _row(report, "frustration", "berkeley-dev", "model, threshold cross-fitted by half")
    assert cross["false_alarms"] <= 0.07  # the threshold chosen on the other half of the messages
    v1 = _row(report, "frustration", "berkeley-dev", "baseline: v1")
    assert fr["false_alarms"] < v1["false_alarms"] / 2
    assert fr["recall"] > 0.0


def test_shipped_model_reaches_what_the_model_card_claims(report: dict[str, Any]) -> None:
    claims = json.loads((default_models_dir() / "metrics.json").read_text())["claims"]
    card = (default_models_dir() / "MODEL_CARD.md").read_text()
    assert claims
    for key, claimed in claims.items():
        detector, dataset, method, what = key.split("|")
        row = _row(report, detector, dataset, method)
        got, tol = row[what], tolerance(row, what)
        if what == "false_alarms":
            assert got <= claimed + tol, f"{key}: measured {got:.3f} > claimed {claimed:.3f} + {tol:.3f}"
        else:
            assert got >= claimed - tol, f"{key}: measured {got:.3f} < claimed {claimed:.3f} - {tol:.3f}"
            assert f"**{claimed:.3f}**" in card  # the human-readable card says the same


def test_eval_table_output() -> None:
    res = _triage("eval", "--no-baselines")
    assert res.returncode == 0, res.stderr
    for word in ("real data written by outsiders", "Self-written sets", "complaints-test", "berkeley-dev",
                 "mailex-dev-turns", "false alarms", "baseline: keyword rules", "due dates on the sanity set"):
        assert word in res.stdout
