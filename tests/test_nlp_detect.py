"""detect_units on real text (GoEmotions dev, complaints, our seed sets): kinds, subtypes, parties, evidence."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from triage.learn.data import load_complaints, load_goemotions, load_seed
from triage.nlp import detect_units
from triage.nlp.runtime import get_runtime, spec_from_settings
from triage.settings import Settings
from triage.types import Signal, TextUnit, stable_id

pytestmark = pytest.mark.slow
SENT = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday


def unit(text: str, party: str = "client", key: str = "m-1", seq: int = 0) -> TextUnit:
    return TextUnit(source_type="email", source_key=key, seq=seq, text=text, party=party,  # type: ignore[arg-type]
                    account_id="acme", thread_id="t-1", speaker="dana@acme.example", occurred_at=SENT,
                    link="file:///m.eml", pipeline_version="test")


def kinds(signals: list[Signal]) -> set[str]:
    return {s.kind for s in signals}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from triage.settings import load_settings

    cfg = tmp_path_factory.mktemp("cfg") / "c.toml"
    cfg.write_text("[database]\npath = 'x.duckdb'\n")
    return load_settings(cfg, use_env_config=False)


def test_client_mail_yields_every_kind_with_evidence(settings: Settings) -> None:
    text = ("Hi Anna,\nThis is the third time this month the export failed and frankly we are looking at "
            "alternatives. Separately, could you send a quote for 40 additional seats by Friday?\nThanks, Dana")
    signals = detect_units(settings, [unit(text)])
    assert {"frustration", "complaint", "buying_signal", "ask"} <= kinds(signals)
    # one decision per unit for frustration and complaints, on the sentence that carries it
    assert sum(s.kind == "frustration" for s in signals) == 1 and sum(s.kind == "complaint" for s in signals) == 1
    comp = next(s for s in signals if s.kind == "complaint")
    assert "export failed" in comp.sentence and comp.subtype == "broken"
    fr = [s for s in signals if s.kind == "frustration" and s.subtype == "churn_threat"]
    assert fr and fr[0].intensity is not None and fr[0].intensity >= 0.95
    assert "frustration:churn" in fr[0].rules
    ask = next(s for s in signals if s.kind == "ask")
    assert ask.sentence == "Separately, could you send a quote for 40 additional seats by Friday?"
    assert ask.subtype == "question" and ask.due_date == date(2026, 11, 20)
    buy = next(s for s in signals if s.kind == "buying_signal")
    assert buy.subtype == "seats" and buy.sentence == ask.sentence
    for s in signals:
        assert 0.0 <= s.score <= 1.0
        assert s.detector in ("frustration.v2", "complaint.v1", "buying_signal.v2", "ask.v2")
        assert s.detector_version.startswith(s.detector + "+")
        assert s.signal_id == stable_id("email", "m-1", 0, s.sentence_idx, s.kind, s.detector_version)
        assert (s.account_id, s.thread_id, s.speaker, s.party, s.link) == (
            "acme", "t-1", "dana@acme.example", "client", "file:///m.eml")
        assert s.utterance_seq is None and s.occurred_at == SENT


def test_our_own_mail_only_yields_commitments(settings: Settings) -> None:
    text = ("I'm sorry, this is really frustrating and unacceptable. Could you send us the logs? "
            "I'll send the root-cause analysis by end of day tomorrow.")
    signals = detect_units(settings, [unit(text, party="us")])
    assert kinds(signals) == {"commitment"}
    [c] = signals
    assert c.due_date == date(2026, 11, 19) and c.party == "us" and c.detector == "ask.v2"


def test_meeting_utterances_keep_seq_and_moment(settings: Settings) -> None:
    u = TextUnit(source_type="meeting", source_key="t-9", seq=7, text="What would it cost to add 100 seats?",
                 party="client", start_s=83.5, link="file:///t.json#t=83.5", occurred_at=SENT)
    signals = detect_units(settings, [u])
    assert {"buying_signal", "ask"} <= kinds(signals)
    assert all(s.utterance_seq == 7 and s.start_s == 83.5 and s.source_type == "meeting" for s in signals)


def test_goemotions_dev_frustrated_comments_are_found(settings: Settings, shared_data: Path) -> None:
    dev = load_goemotions(shared_data, "dev")
    pos = [t for t, y in zip(dev.texts, dev.labels, strict=True) if y][:150]
    neg = [t for t, y, g in zip(dev.texts, dev.labels, dev.groups, strict=True) if not y and g == "other"][:150]
    units = [unit(t, key=f"p{i}") for i, t in enumerate(pos)] + [unit(t, key=f"n{i}") for i, t in enumerate(neg)]
    signals = detect_units(settings, units)
    flagged = {s.source_key for s in signals if s.kind == "frustration"}
    recall = sum(f"p{i}" in flagged for i in range(len(pos))) / len(pos)
    false_pos = sum(f"n{i}" in flagged for i in range(len(neg))) / len(neg)
    assert recall > 0.4 and false_pos < recall / 2
    subtypes = {s.subtype for s in signals if s.kind == "frustration"}
    assert subtypes & {"anger", "annoyance", "disappointment"}


def test_complaint_tweets_are_found_and_random_tweets_are_not(settings: Settings, shared_data: Path) -> None:
    data = load_complaints(shared_data, "test")
    pos = [t for t, y in zip(data.texts, data.labels, strict=True) if y][:100]
    rand = [t for t, g in zip(data.texts, data.groups, strict=True) if g.startswith("random")][:100]
    units = [unit(t, key=f"p{i}") for i, t in enumerate(pos)] + [unit(t, key=f"r{i}") for i, t in enumerate(rand)]
    flagged = {s.source_key for s in detect_units(settings, units) if s.kind == "complaint"}
    assert sum(f"p{i}" in flagged for i in range(len(pos))) > 0.7 * len(pos)
    assert sum(f"r{i}" in flagged for i in range(len(rand))) < 0.1 * len(rand)


def test_a_forwarded_article_is_no_evidence(settings: Settings) -> None:
    article = ("FYI, see below.\n\nUtility under fire\nBy Jane Reporter\nStaff Writer\n\n"
               "Angry customers said the service was a disgrace and they were furious about the outages, "
               "demanding refunds and threatening to cancel their contracts.")
    assert not [s for s in detect_units(settings, [unit(article)]) if s.kind in ("frustration", "complaint")]
    own = article.replace("FYI, see below.", "FYI - we are furious about the outages too, this is a disgrace.")
    assert "frustration" in kinds(detect_units(settings, [unit(own, key="m-2")]))


def test_seed_buying_signals_are_found_and_hard_negatives_mostly_not(settings: Settings) -> None:
    seed = load_seed("buying_signals")
    pos = [t for t, g in zip(seed.texts, seed.groups, strict=True) if g == "seats"]
    spam = [t for t, g in zip(seed.texts, seed.groups, strict=True) if g == "neg_vendor_spam"]
    got = detect_units(settings, [unit(t, key=f"b{i}") for i, t in enumerate(pos + spam)])
    flagged = {s.source_key for s in got if s.kind == "buying_signal"}
    assert sum(f"b{i}" in flagged for i in range(len(pos))) >= 0.8 * len(pos)
    assert sum(f"b{len(pos) + i}" in flagged for i in range(len(spam))) <= 0.3 * len(spam)


def test_garbage_and_duplicates_are_handled(settings: Settings) -> None:
    b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789" * 60
    units = [unit(f"Could you send the signed order form?\n{b64}\nhttps://example.com/x?y=1", key="g"),
             unit("Could you send the signed order form?", key="d1"),
             unit("Could you send the signed order form?", key="d2"),
             unit("   ", key="empty"), unit("!!! ??? ...", key="punct")]
    signals = detect_units(settings, units)
    by_key = {k: [s for s in signals if s.source_key == k] for k in ("g", "d1", "d2", "empty", "punct")}
    assert {s.kind for s in by_key["d1"]} == {s.kind for s in by_key["d2"]} == {s.kind for s in by_key["g"]}
    assert by_key["d1"][0].score == by_key["d2"][0].score
    assert not by_key["empty"] and not by_key["punct"]
    assert all(len(s.sentence) <= 1001 for s in signals)


def test_pipeline_is_cached_per_process_and_inputs_pickle(settings: Settings) -> None:
    spec = spec_from_settings(settings)
    assert get_runtime(spec) is get_runtime(spec_from_settings(settings))
    u = unit("We'd like to upgrade to the Enterprise plan.")
    s2, u2 = pickle.loads(pickle.dumps((settings, [u])))
    assert detect_units(s2, u2) == detect_units(settings, [u])


def test_empty_input(settings: Settings) -> None:
    assert detect_units(settings, []) == []


def test_torch_backend_agrees_with_onnx(make_settings: Callable[..., Settings]) -> None:
    texts = ["This is unacceptable, we will cancel our subscription.", "Could you send the quote for 20 seats?",
             "Thanks, see you next week."]
    onnx = detect_units(make_settings(), [unit(t, key=str(i)) for i, t in enumerate(texts)])
    torch = detect_units(make_settings("[nlp]\nencoder_backend = 'torch'\n"),
                         [unit(t, key=str(i)) for i, t in enumerate(texts)])
    assert {(s.source_key, s.kind) for s in onnx} == {(s.source_key, s.kind) for s in torch}
