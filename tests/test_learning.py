"""The list that learns (issue 20): clicks on the bundled sample's night become a team model behind the
install gate, the next night uses it, rollback and erasure take it back.

Everything is real: a nightly flow over the sample, the clicks through the CLI, ``triage train
--with-feedback`` and the weekly Prefect flow, ``triage model status | rollback``, ``triage forget``. The
gate judges on a thinned copy of the shared real data (every 16th row or document: tests/support/data.py)
so one candidate costs about a minute, not ten; the figures of the full run are in models/MODEL_CARD.md.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import duckdb
import pytest

from tests.support.data import thin_data
from tests.support.flowrun import home_config, night_copy, sample_night
from tests.support.privacy import REPO, cli_env
from triage.nlp.heads import head_file_hash
from triage.nlp.team import LEARNING, TeamModels
from triage.settings import default_models_dir

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 20)
# calm client notes the shipped complaint detector flags (the word "again" in good news, a date, a receipt):
# three in the sample, six more arriving the next day; an AM says "not a problem" to each
FALSE_ALARMS = ["The planning dashboard matched our own numbers again.", "Our budget freeze starts on December 18.",
                "Just confirming we received the November invoice"]
NEXT_DAY = [("noah.fischer@harborpoint.example", "The export ran on time again last night."),
            ("sofia.lind@evergreenfoods.example", "We received the replacement badges this morning."),
            ("marco.rossi@cedarpine.example", "The data refresh finished again before 7am."),
            ("olivia.grant@granitemutual.example", "The numbers in the board pack lined up with yours again."),
            ("marta.kowalski@deltafreight.example", "The sync ran again overnight and the totals agree."),
            ("ingrid.berg@fjordmedia.example", "The invoice numbers matched the purchase order again this month.")]
REAL = [("complaint", "The SSO errors happened again this morning"),
        ("complaint", "The nightly export to our Snowflake warehouse failed"),
        ("frustration", "This is really frustrating.")]
EASY_GATE = "\n[learn]\nmin_heldback_confirms = 0\n"


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample_night(tmp_path_factory.mktemp("learn-night"), AS_OF)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    return thin_data(shared_data, tmp_path_factory.mktemp("thin") / "data", step=16)


@pytest.fixture
def home(night: Path, tmp_path: Path) -> Path:
    return night_copy(night, tmp_path / "home")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(None)
    env["PREFECT_HOME"] = str(home / "prefect")
    return subprocess.run([sys.executable, "-m", "triage", "--config", str(home / "config.toml"), *args],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900, cwd=REPO)


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _rows(home: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(home / "db" / "triage.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _signal(home: Path, kind: str, words: str) -> str:
    rows = _rows(home, "SELECT signal_id FROM signals WHERE kind = ? AND starts_with(sentence, ?) ORDER BY signal_id",
                 [kind, words])
    assert rows, (kind, words)
    return str(rows[0][0])


def _next_day(home: Path) -> None:
    """The six calm notes as client mail of 2026-11-20, and that night's run."""
    for i, (sender, text) in enumerate(NEXT_DAY):
        msg = EmailMessage()
        msg["From"], msg["To"] = sender, "Dana Whitfield <dana.whitfield@northwind.example>"
        msg["Subject"], msg["Message-ID"] = "Quick note", make_msgid(domain=sender.split("@")[1])
        msg["Date"] = format_datetime(datetime(2026, 11, 20, 9, i, tzinfo=UTC))
        msg.set_content(f"Hi Dana,\n\n{text}\n\nBest regards\n")
        (home / "mail" / "INBOX" / "new" / f"17636{i}.M1P1.learn.example").write_bytes(bytes(msg))
    _ok(_cli(home, "run", "--as-of", "2026-11-21", "--no-list"))


def _click(home: Path) -> None:
    _next_day(home)
    for words in FALSE_ALARMS + [text for _, text in NEXT_DAY]:
        _ok(_cli(home, "dismiss", _signal(home, "complaint", words), "--reason", "calm mail, not a problem",
                 "--code", "wrong_kind", "--author", "dana", "--no-rebuild"))
    for kind, words in REAL:
        _ok(_cli(home, "confirm", _signal(home, kind, words), "--author", "dana"))


def _team(home: Path) -> TeamModels:
    return TeamModels(home / "db" / "team-models", default_models_dir())


def _complaints(home: Path, words: str) -> int:
    return int(_rows(home, "SELECT count(*) FROM signals WHERE kind = 'complaint' AND starts_with(sentence, ?)",
                     [words])[0][0])


def test_clicks_teach_a_team_model_the_next_night_uses_and_rollback_takes_back(home: Path, data: Path) -> None:
    _click(home)
    # the default gate: three held-back Confirms cannot show a loss of recall, so nothing is installed
    refused = _ok(_cli(home, "train", "--with-feedback", "--data-dir", str(data)))
    assert "feedback: complaint: 9 not a problem, 2 confirmed, frustration: 0 not a problem, 1 confirmed" in refused
    assert "not installed: held-back Confirms >= 10 per retrained detector" in refused
    assert "F1 complaint on complaints-test" in refused and "calm Berkeley mail flagged" in refused
    assert _team(home).current() is None and _team(home).versions() == []
    status = _ok(_cli(home, "model", "status"))
    assert "in use: the shipped model" in status and "refused" in status

    # a team that accepts a gate without the recall floor (its own call): the candidate is installed
    home_config(home, EASY_GATE)
    installed = _ok(_cli(home, "train", "--with-feedback", "--data-dir", str(data)))
    assert "installed team model" in installed, installed
    team = _team(home)
    current = team.current()
    assert current is not None
    meta = json.loads((current.path / LEARNING).read_text())
    assert meta["base_heads_hash"] == head_file_hash(default_models_dir())
    assert meta["heldback"]["false_alarms_gone"] >= 1 and meta["heldback"]["confirms_lost"] == 0
    assert len(meta["feedback_ids"]) == 12
    assert f"in use: team model {current.name}" in _ok(_cli(home, "model", "status"))
    moved = _ok(_cli(home, "eval", "--data-dir", str(data), "--no-baselines"))
    assert "Team model against the shipped model" in moved and "complaints-test" in moved

    # the next night scores the stored text again with the team's heads: the calm sentence an AM dismissed
    # is no complaint any more (not only hidden by the same-words rule), the confirmed ones still are
    dismissed = FALSE_ALARMS + [text for _, text in NEXT_DAY]
    before = sum(_complaints(home, words) for words in dismissed)
    assert before >= len(dismissed)
    _ok(_cli(home, "run", "--as-of", "2026-11-22"))
    assert sum(_complaints(home, words) for words in dismissed) < before
    assert all(_complaints(home, words) >= 1 for kind, words in REAL if kind == "complaint")

    # rollback: back to the shipped model, recorded
    assert f"rolled back from {current.name} to the shipped model" in _ok(_cli(home, "model", "rollback"))
    assert _team(home).current() is None
    assert [e["event"] for e in _team(home).history()] == ["refused", "installed", "rolled back"]


def test_the_weekly_flow_gates_and_an_erasure_retires_what_learnt_from_her(home: Path, data: Path) -> None:
    from flows.learning import learn_from_feedback

    _click(home)
    home_config(home, EASY_GATE)
    result = learn_from_feedback(config_path=str(home / "config.toml"), data_dir=str(data))
    assert result["installed"] and result["failed_checks"] == [], result
    version = _team(home).current()
    assert version is not None and version.name == result["version"]
    # erasing the account whose clicks it learnt from takes the version with it
    _ok(_cli(home, "forget", "--account", "harbor"))
    team = _team(home)
    assert team.current() is None and team.versions() == []
    assert team.history()[-1]["event"] == "retired"
    assert "in use: the shipped model" in _ok(_cli(home, "model", "status"))


def test_a_version_made_for_other_shipped_heads_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A new release ships other heads: the team's version was learnt on top of the old ones and is not used
    (one warning) until the team trains again."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("heads.json", "heads.npz"):
        shutil.copyfile(default_models_dir() / name, shipped / name)
    staged = tmp_path / "staged"
    staged.mkdir()
    for name in ("heads.json", "heads.npz"):
        shutil.copyfile(default_models_dir() / name, staged / name)
    (staged / LEARNING).write_text(json.dumps({"base_heads_hash": head_file_hash(shipped), "feedback_ids": ["a"]}))
    team = TeamModels(tmp_path / "team", shipped)
    team.add_version(staged, "20261201-000000")
    team.set_current("20261201-000000")
    assert team.current() is not None and team.current().name == "20261201-000000"  # type: ignore[union-attr]
    heads = json.loads((shipped / "heads.json").read_text())
    heads["released"] = "next"
    (shipped / "heads.json").write_text(json.dumps(heads))
    with caplog.at_level("WARNING"):
        assert TeamModels(tmp_path / "team", shipped).current() is None
    assert [r.getMessage() for r in caplog.records if "20261201-000000" in r.getMessage()] == [
        "team model 20261201-000000 was made for another shipped model; using the shipped model until the next "
        "`triage train --with-feedback`"]


def test_the_model_card_shows_the_measured_learning_curve() -> None:
    """models/MODEL_CARD.md carries exactly the section rendered from models/learning_curve.json (written by
    bench/bench_learning.py): the card and the measurement never disagree."""
    from triage.learn.card import learning_section

    models = default_models_dir()
    curve = json.loads((models / "learning_curve.json").read_text())
    section = learning_section(models)
    assert section in (models / "MODEL_CARD.md").read_text()
    for direction, result in curve["directions"].items():
        assert f"F1 **{result['shipped']['f1']:.3f}**" in section, direction
        assert f"the shipped model flags {result['pool']} " in section
