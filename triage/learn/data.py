"""The labelled data the detectors are trained and measured on, with fixed splits.

Public development data (``../shared/data``, written and labelled by people outside the project):

* **GoEmotions** (Reddit comments): ``train.tsv`` trains frustration, ``dev.tsv`` measures it;
  frustration = any of anger, annoyance, disappointment.
* **Parakweet email intent** (Enron sentences, ask = "a request or proposal"): one file, split once
  and for ever by ``sha256(sentence) % 5 == 0`` into a 20% test part and an 80% training part.
* **Complaints** (customer-to-brand tweets): ``complaints_dev.tsv`` split the same way by tweet id.
* **MailEx** (real Enron threads, request / delivery events per turn): measurement only (asks at
  turn level, and whether a later turn delivers).
* **Berkeley Enron** (real messages with human emotional-tone labels): measurement and the choice
  of message-level thresholds (never trained on).
* **enron-maildir** (untouched real mail of three Enron custodians): the new text of each message,
  split into sentences, is the calm business background the frustration and complaint heads learn
  as negatives (real mail is overwhelmingly calm; see the model card for what this costs).

Our seed sets (``data/``, see ``data/LABELLING.md``): buying signals, frustration, complaints and
commitments in client/vendor language, each split by ``sha256(text) % 5 == 0`` when reported; the
client-email sanity set is never trained on. Numbers on seed sets are reported apart, never as the
headline. The held-out parts of the public sets are not in ``../shared/data`` and never read.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from triage.errors import ConfigError
from triage.settings import REPO_DIR

__all__ = [
    "FRUSTRATION_EMOTIONS",
    "NEGATIVE_TONE",
    "STRICT_NEGATIVE_TONE",
    "BerkeleyMessage",
    "ClientSentence",
    "Labelled",
    "MailexTurn",
    "concat",
    "enron_maildir_texts",
    "in_test_part",
    "load_berkeley",
    "load_client_emails",
    "load_complaints",
    "load_goemotions",
    "load_mailex",
    "load_parakweet",
    "load_seed",
    "seed_data_dir",
    "shared_data_dir",
]

#: GoEmotions label ids: anger, annoyance, disappointment
FRUSTRATION_EMOTIONS = {2: "anger", 3: "annoyance", 9: "disappointment"}
#: Berkeley category 4 (emotional tone) subcategories read as negative tone: sarcasm, worry/anxiety,
#: concern, competitiveness/aggressiveness, anger/agitation, sadness/despair, dislike/scorn
NEGATIVE_TONE = frozenset({9, 11, 12, 13, 16, 17, 19})
#: the subset with an edge toward someone: sarcasm, aggressiveness, anger, scorn
STRICT_NEGATIVE_TONE = frozenset({9, 13, 16, 19})
SEEDS = ("buying_signals", "frustration_seed", "complaint_seed", "commitment_seed")


@dataclass
class Labelled:
    name: str
    texts: list[str]
    labels: list[bool]
    #: a finer label per text (GoEmotions emotion, seed category, complaint domain)
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


@dataclass
class MailexTurn:
    thread: str
    #: position of the turn in its thread (0 = first)
    index: int
    text: str
    #: the turn asks for something (a Request_* trigger among its own tokens)
    request: bool
    #: the turn delivers something (a Deliver_* trigger among its own tokens)
    deliver: bool


@dataclass
class BerkeleyMessage:
    id: str
    genre: str
    raw: bytes
    #: (category, subcategory, annotators) lines of the .cats file
    cats: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def tone(self) -> set[int]:
        return {s for c, s, _ in self.cats if c == 4}

    @property
    def negative(self) -> bool:
        return bool(self.tone & NEGATIVE_TONE)

    @property
    def strict(self) -> bool:
        return bool(self.tone & STRICT_NEGATIVE_TONE)

    @property
    def agreed(self) -> bool:
        """Both annotators chose a negative tone."""
        return any(c == 4 and s in NEGATIVE_TONE and n >= 2 for c, s, n in self.cats)

    @property
    def thread_group(self) -> int:
        """0 or 1: a fixed two-way split of the messages (for cross-fitted threshold checks)."""
        return _hash(self.id) % 2


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def in_test_part(key: str) -> bool:
    """The fixed 20% test part of a split dataset (Parakweet by sentence, complaints by tweet id, seeds)."""
    return _hash(key) % 5 == 0


def shared_data_dir(explicit: Path | None = None) -> Path:
    """``explicit``, else $TRIAGE_SHARED_DATA, else ../shared/data next to the repository."""
    d = explicit or Path(os.environ.get("TRIAGE_SHARED_DATA", REPO_DIR.parent / "shared" / "data"))
    d = Path(d).expanduser().resolve()
    if not (d / "goemotions").is_dir():
        raise ConfigError(f"shared data not found at {d} (want goemotions/, parakweet-email-intent/, ...); "
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


def _part(rows: list[tuple[str, str, bool, str]], split: str, name: str) -> Labelled:
    """rows of (key, text, label, group) -> the wanted part of the fixed split ("train", "test", "all")."""
    if split not in ("train", "test", "all"):
        raise ConfigError(f"{name}: unknown split {split!r} (train, test or all)")
    keep = [r for r in rows if split == "all" or in_test_part(r[0]) == (split == "test")]
    return Labelled(f"{name}-{split}", [r[1] for r in keep], [r[2] for r in keep], [r[3] for r in keep])


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


def load_parakweet(data_dir: Path, split: str = "all") -> Labelled:
    rows = []
    path = data_dir / "parakweet-email-intent" / "train_Ask0729-fixed.txt"
    for n, line in enumerate(_read(path).splitlines(), 1):
        label, sep, text = line.partition("\t")
        if not sep or label not in ("Yes", "No"):
            raise ConfigError(f"{path.name} line {n}: expected Yes|No<TAB>sentence")
        text = text.strip()
        rows.append((text, text, label == "Yes", label.lower()))
    return _part(rows, split, "parakweet")


def load_complaints(data_dir: Path, split: str = "all") -> Labelled:
    """Tweets to brands, complaint or not (key: tweet id; group: the brand's domain)."""
    rows = []
    path = data_dir / "complaints" / "complaints_dev.tsv"
    for n, line in enumerate(_read(path).splitlines(), 1):
        parts = line.split("\t", 3)
        if len(parts) != 4 or parts[1] not in ("0", "1"):
            raise ConfigError(f"{path.name} line {n}: expected id<TAB>0|1<TAB>domain<TAB>text")
        rows.append((parts[0], parts[3].strip(), parts[1] == "1", parts[2]))
    return _part(rows, split, "complaints")


_DETOK = (
    (re.compile(r" (n't|'s|'re|'ll|'ve|'m|'d)\b", re.I), r"\1"),
    (re.compile(r" ([.,!?;:%)\]])"), r"\1"),
    (re.compile(r"([(\[$]) "), r"\1"),
    (re.compile(r"\b(ca|wo|do|does|did|is|are|was|were|have|has|had|could|would|should) n't\b", re.I), r"\1n't"),
)


def _detokenise(tokens: list[str]) -> str:
    text = " ".join(tokens)
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def load_mailex(data_dir: Path) -> list[MailexTurn]:
    """MailEx turns in thread order; each turn's own tokens (the context part is not scored)."""
    path = data_dir / "mailex" / "mailex_dev_turns.json"
    try:
        items = json.loads(_read(path))
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not JSON ({e.msg})") from e
    turns: list[MailexTurn] = []
    seen: dict[str, int] = {}
    for item in items:
        own = [(t, lab) for t, lab in zip(item["text"], item["trigger_labels"], strict=True) if lab != -100]
        tags = [lab for _, lab in own if isinstance(lab, str) and lab.startswith("B_")]
        thread = str(item["file_name"])
        index = seen.get(thread, 0)
        seen[thread] = index + 1
        turns.append(MailexTurn(thread, index, _detokenise([t for t, _ in own]),
                                any("Request" in t for t in tags), any("Deliver" in t for t in tags)))
    return turns


def load_berkeley(data_dir: Path) -> list[BerkeleyMessage]:
    root = data_dir / "enron-berkeley"
    if not root.is_dir():
        raise ConfigError(f"dataset folder not found: {root}")
    out = []
    for txt in sorted(root.glob("*/*.txt")):
        cats = []
        cats_path = txt.with_suffix(".cats")
        for line in _read(cats_path).splitlines():
            if line.strip():
                a, b, c = (int(x) for x in line.split(","))
                cats.append((a, b, c))
        out.append(BerkeleyMessage(txt.stem, txt.parent.name, txt.read_bytes(), cats))
    return out


def enron_maildir_texts(data_dir: Path) -> Iterator[tuple[str, bytes]]:
    """(relative path, raw bytes) of every message file under enron-maildir/, in a stable order."""
    root = data_dir / "enron-maildir"
    if not root.is_dir():
        raise ConfigError(f"dataset folder not found: {root}")
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".txt",)):
        yield path.relative_to(root).as_posix(), path.read_bytes()


def load_seed(name: str, split: str = "all", seed_dir: Path | None = None) -> Labelled:
    """One of our seed sets (``label<TAB>category<TAB>text``), split by the hash of the text."""
    if name not in SEEDS:
        raise ConfigError(f"unknown seed set {name!r} (have: {', '.join(SEEDS)})")
    path = (seed_dir or seed_data_dir()) / f"{name}.tsv"
    rows = [(r["text"], r["text"], r["label"] == "1", r["category"])
            for r in csv.DictReader(_read(path).splitlines(), delimiter="\t")]
    return _part(rows, split, name.replace("_", "-"))


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
