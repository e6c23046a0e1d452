"""Dataset loaders for training and evaluation (development data only).

* GoEmotions (``../shared/data/goemotions``): ``train.tsv`` trains the frustration head, ``dev.tsv``
  evaluates it. Frustration = any of anger (2), annoyance (3), disappointment (9).
* Parakweet email intent (``../shared/data/parakweet-email-intent``): only the train file exists here;
  it trains the ask head and is reported with k-fold cross-validation.
* ``data/frustration_seed.tsv`` (ours): client-style frustration sentences, trained on together with
  GoEmotions train (up-weighted) so the head knows business complaints, not only Reddit.
* ``data/buying_signals.tsv`` (ours, see data/LABELLING.md): buying-signal seed set, reported with
  cross-validation.
* ``data/client_emails.tsv`` (ours): client-style e-mail sentences with all labels; never trained on,
  an extra sanity evaluation of the shipped heads.

The held-out test splits are not read by anything here.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from triage.errors import ConfigError
from triage.settings import REPO_DIR

__all__ = [
    "FRUSTRATION_EMOTIONS",
    "ClientSentence",
    "Labelled",
    "concat",
    "load_buying_seed",
    "load_client_emails",
    "load_frustration_seed",
    "load_goemotions",
    "load_parakweet",
    "seed_data_dir",
    "shared_data_dir",
]

#: GoEmotions label ids: anger, annoyance, disappointment
FRUSTRATION_EMOTIONS = {2: "anger", 3: "annoyance", 9: "disappointment"}


@dataclass
class Labelled:
    name: str
    texts: list[str]
    labels: list[bool]
    #: optional finer label per text (GoEmotions emotion, seed category)
    groups: list[str]


@dataclass
class ClientSentence:
    id: str
    party: str
    sent: date
    text: str
    frustration: bool | None
    buying_signal: bool | None
    ask: bool | None
    commitment: bool | None
    due: date | None


def shared_data_dir(explicit: Path | None = None) -> Path:
    """``explicit``, else $TRIAGE_SHARED_DATA, else ../shared/data next to the repository."""
    d = explicit or Path(os.environ.get("TRIAGE_SHARED_DATA", REPO_DIR.parent / "shared" / "data"))
    d = Path(d).expanduser().resolve()
    if not (d / "goemotions").is_dir():
        raise ConfigError(f"shared data not found at {d} (want goemotions/, parakweet-email-intent/); "
                          "pass --data-dir or set TRIAGE_SHARED_DATA")
    return d


def seed_data_dir() -> Path:
    d = REPO_DIR / "data"
    if not (d / "buying_signals.tsv").is_file():
        raise ConfigError(f"the labelled seed sets are not at {d} (they live in the repository's data/)")
    return d


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"dataset file not found: {path}") from None


def load_goemotions(data_dir: Path, split: str) -> Labelled:
    if split not in ("train", "dev"):
        raise ConfigError(f"GoEmotions split {split!r}: only train and dev are development data")
    texts, labels, groups = [], [], []
    for n, line in enumerate(_read(data_dir / "goemotions" / f"{split}.tsv").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) < 2:
            raise ConfigError(f"goemotions/{split}.tsv line {n}: expected text<TAB>labels<TAB>id")
        ids = {int(x) for x in parts[1].split(",") if x}
        hit = sorted(ids & FRUSTRATION_EMOTIONS.keys())
        texts.append(parts[0])
        labels.append(bool(hit))
        groups.append(FRUSTRATION_EMOTIONS[hit[0]] if hit else "other")
    return Labelled(f"goemotions-{split}", texts, labels, groups)


def load_parakweet(data_dir: Path) -> Labelled:
    texts, labels = [], []
    path = data_dir / "parakweet-email-intent" / "train_Ask0729-fixed.txt"
    for n, line in enumerate(_read(path).splitlines(), 1):
        label, sep, text = line.partition("\t")
        if not sep or label not in ("Yes", "No"):
            raise ConfigError(f"{path.name} line {n}: expected Yes|No<TAB>sentence")
        texts.append(text.strip())
        labels.append(label == "Yes")
    return Labelled("parakweet-train", texts, labels, ["yes" if y else "no" for y in labels])


def load_buying_seed(seed_dir: Path | None = None) -> Labelled:
    path = (seed_dir or seed_data_dir()) / "buying_signals.tsv"
    rows = list(csv.DictReader(_read(path).splitlines(), delimiter="\t"))
    return Labelled("buying-seed", [r["text"] for r in rows], [r["label"] == "1" for r in rows],
                    [r["category"] for r in rows])


def load_frustration_seed(seed_dir: Path | None = None) -> Labelled:
    """Client-style frustration sentences we wrote (trained on together with GoEmotions train)."""
    path = (seed_dir or seed_data_dir()) / "frustration_seed.tsv"
    rows = list(csv.DictReader(_read(path).splitlines(), delimiter="\t"))
    return Labelled("frustration-seed", [r["text"] for r in rows], [r["label"] == "1" for r in rows],
                    [r["category"] for r in rows])


def concat(name: str, *parts: Labelled) -> Labelled:
    return Labelled(name, [t for p in parts for t in p.texts], [y for p in parts for y in p.labels],
                    [g for p in parts for g in p.groups])


def _opt(v: str) -> bool | None:
    return None if v == "-" else v == "1"


def load_client_emails(seed_dir: Path | None = None) -> list[ClientSentence]:
    path = (seed_dir or seed_data_dir()) / "client_emails.tsv"
    out = []
    for r in csv.DictReader(_read(path).splitlines(), delimiter="\t"):
        out.append(ClientSentence(
            id=r["id"], party=r["party"], sent=date.fromisoformat(r["sent"]), text=r["text"],
            frustration=_opt(r["frustration"]), buying_signal=_opt(r["buying_signal"]), ask=_opt(r["ask"]),
            commitment=_opt(r["commitment"]), due=None if r["due"] == "-" else date.fromisoformat(r["due"]),
        ))
    return out
