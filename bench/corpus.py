"""Build a realistic benchmark corpus from the real public data in ../shared/data.

Every e-mail body is distinct and made of real text written by people: paragraphs of real Enron mail
(the three dev custodians and the Berkeley messages' new text), and paragraphs recombined from real
sentences of different sources (Enron request sentences of Parakweet, customer tweets of the
complaints set, Reddit comments of GoEmotions). No paragraph is used twice. What repeats is what
repeats in real mail: greetings, closings and signatures (the AM and client names of the corpus),
and the quoted parent in a reply (stripped by the parser, as in real mail). The result has about the
duplicate-sentence share of real mail (29% on the 907 Enron dev bodies); :func:`duplicate_share`
measures it. Transcripts are real QMSum meetings (train/val only).

The headers are rewritten so the mail reads as client traffic of ``n_accounts`` accounts with our
company (northwind.example): ~60% inbound client mail, ~40% our replies in the Sent folder
(In-Reply-To/References set), spread over the 60 days before ``as_of``. Writes a Maildir
(mail/INBOX, mail/Sent), transcripts/<account>/<date>-<name>.json, accounts.toml and config.toml.
"""

from __future__ import annotations

import email
import email.policy
import json
import random
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

__all__ = ["BodyMaker", "Corpus", "duplicate_share", "enron_bodies", "make_corpus"]

DEV_CUSTODIANS = ("allen-p", "arnold-j", "arora-h")  # badeer-r is held out: never read it


@dataclass
class Corpus:
    root: Path
    config: Path
    emails: int
    inbound: int
    outbound: int
    transcripts: int


def enron_bodies(enron_dir: Path) -> list[tuple[str, str]]:
    """(subject, body) of every dev Enron message with a non-trivial plain-text body."""
    out = []
    for custodian in DEV_CUSTODIANS:
        for f in sorted((enron_dir / custodian).rglob("*")):
            if not f.is_file():
                continue
            msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            part = msg.get_body(preferencelist=("plain",))
            if part is None:
                continue
            try:
                body = part.get_content()
            except (LookupError, ValueError):
                continue
            if len(body.strip()) >= 40:
                out.append((str(msg.get("Subject", "") or "(no subject)"), body))
    return out


def _paragraphs(text: str) -> list[str]:
    out = []
    for par in re.split(r"\n\s*\n", text):
        par = " ".join(par.split())
        if 40 <= len(par) <= 900 and not par.startswith((">", "-----", "From:", "To:")):
            out.append(par)
    return out


_FIRST = ["Dana", "Luis", "Mei", "Ola", "Sam", "Priya", "Tom", "Anna", "Jon", "Kate", "Raj", "Eva"]
_GREETINGS = ["Hi {n},", "Hello {n},", "{n},", "Dear {n},", "Hi {n}!", "Good morning {n},", "Hi team,", "Hey {n},"]
_CLOSINGS = ["Thanks,", "Thanks!", "Best,", "Best regards,", "Regards,", "Cheers,", "Thank you,", "Kind regards,",
             "Many thanks,", "Thanks again,"]


class BodyMaker:
    """Distinct e-mail bodies from real text (see the module docstring); every source item used once."""

    def __init__(self, shared_data: Path, rng: random.Random) -> None:
        from triage.learn.data import load_berkeley, load_complaints, load_goemotions, load_parakweet
        from triage.parse.mime import parse_mail

        self.rng = rng
        pars = [p for _, body in enron_bodies(shared_data / "enron-maildir") for p in _paragraphs(body)]
        for m in load_berkeley(shared_data):
            try:
                pars += _paragraphs(parse_mail(m.raw).new_text)
            except Exception:  # a Berkeley file the parser refuses: not needed for a benchmark
                continue
        self.paragraphs = list(dict.fromkeys(pars))
        tweets = [re.sub(r"(?:^|\s)@\w+", " ", t).strip() for t in load_complaints(shared_data).texts]
        comments = [t.replace("[NAME]", rng.choice(_FIRST)) for split in ("train", "dev")
                    for t in load_goemotions(shared_data, split).texts]
        self.pieces = list(dict.fromkeys(x for x in [*tweets, *comments, *load_parakweet(shared_data).texts]
                                         if len(x) >= 15))
        rng.shuffle(self.paragraphs)
        rng.shuffle(self.pieces)
        # the lines that repeat in real mail ("Please see attached.", "Any update?"), at their real rate
        self.common, self.weights = _repeated_lines(shared_data)

    def paragraph(self) -> str:
        if self.paragraphs and self.rng.random() < 0.4:
            return self.paragraphs.pop()
        n = self.rng.randint(2, 4)
        got = [self.pieces.pop() for _ in range(min(n, len(self.pieces)))]
        if not got:
            raise ValueError("out of distinct real text for the corpus")
        return " ".join(got)

    def body(self, to_name: str, from_name: str, title: str) -> str:
        parts = []
        if self.rng.random() < 0.85:
            parts.append(self.rng.choice(_GREETINGS).format(n=to_name))
        parts += [self.paragraph() for _ in range(self.rng.choice((1, 1, 2, 2, 2, 3)))]
        while self.rng.random() < COMMON_LINE_RATE:
            parts.insert(self.rng.randint(1, len(parts)), self.rng.choices(self.common, self.weights)[0])
        if self.rng.random() < 0.9:
            sig = f"{self.rng.choice(_CLOSINGS)}\n{from_name}"
            if self.rng.random() < 0.5:
                sig += f"\n{title}"
            parts.append(sig)
        return "\n\n".join(parts) + "\n"


#: chance of one more repeated real line in a body (geometric): calibrated so that the corpus has the
#: duplicate-sentence share of the real Enron dev mail (see BENCHMARKS.md)
COMMON_LINE_RATE = 0.55


def _repeated_lines(shared_data: Path) -> tuple[list[str], list[int]]:
    """Sentences that occur more than once in the own words of the real Enron dev mail, with their counts."""
    from collections import Counter

    from triage.nlp.evidence import own_words
    from triage.nlp.runtime import get_segmenter
    from triage.parse.mime import parse_mail

    texts = [parse_mail(f"Subject: x\n\n{b}".encode()).new_text for _, b in enron_bodies(shared_data / "enron-maildir")]
    counts: Counter[str] = Counter()
    for doc in get_segmenter().pipe((own_words(t).text for t in texts), batch_size=256):
        counts.update(s.text for s in doc._.triage_sents or [] if s.scorable and s.evidence)
    common = sorted((s, n) for s, n in counts.items() if n > 1)
    return [s for s, _ in common], [n for _, n in common]


def duplicate_share(texts: list[str]) -> tuple[int, float]:
    """(scorable sentences, share of them that repeat an earlier one) of the texts' own words."""
    from triage.nlp.evidence import own_words
    from triage.nlp.runtime import get_segmenter

    seen: set[str] = set()
    total = dup = 0
    for doc in get_segmenter().pipe((own_words(t).text for t in texts), batch_size=256):
        for s in doc._.triage_sents or []:
            if not (s.scorable and s.evidence):
                continue
            total += 1
            dup += s.text in seen
            seen.add(s.text)
    return total, (dup / total if total else 0.0)


def _accounts(n: int) -> list[dict[str, object]]:
    tiers = ["strategic", "enterprise", "growth", "smb"]
    ams = [("Dana Whitfield", "dana"), ("Luis Romero", "luis"), ("Mei Tanaka", "mei"), ("Ola Berg", "ola")]
    accts = []
    for i in range(n):
        am = ams[i % len(ams)]
        accts.append(
            {
                "id": f"acct{i:03d}",
                "name": f"Client {i:03d} Ltd",
                "domains": [f"client{i:03d}.example"],
                "owner_am": am[0],
                "am_email": f"{am[1]}@northwind.example",
                "tier": tiers[i % len(tiers)],
                "arr": float(20_000 + (i * 7919) % 400_000),
                "contacts": [f"user{j}@client{i:03d}.example" for j in range(3)],
            }
        )
    return accts


def _write_accounts(path: Path, accts: list[dict[str, object]]) -> None:
    lines = []
    for a in accts:
        lines += [
            "[[account]]",
            f'id = "{a["id"]}"',
            f'name = "{a["name"]}"',
            f"domains = {json.dumps(a['domains'])}",
            f'owner_am = "{a["owner_am"]}"',
            f'am_email = "{a["am_email"]}"',
            f'tier = "{a["tier"]}"',
            f"arr = {a['arr']}",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _maildir(root: Path, folder: str) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / folder / sub).mkdir(parents=True, exist_ok=True)
    return root / folder / "cur"


def make_corpus(
    out: Path,
    shared_data: Path,
    *,
    n_emails: int,
    n_transcripts: int,
    n_accounts: int = 50,
    as_of: date = date(2026, 11, 20),
    seed: int = 7,
) -> Corpus:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    maker = BodyMaker(shared_data, rng)
    accts = _accounts(n_accounts)
    _write_accounts(out / "accounts.toml", accts)
    inbox, sent = _maildir(out / "mail", "INBOX"), _maildir(out / "mail", "Sent")
    start = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) - timedelta(days=60)
    open_threads: list[tuple[str, str, str, dict[str, object], list[str], str]] = []
    inbound = outbound = 0
    for i in range(n_emails):
        when = start + timedelta(seconds=int(60 * 86400 * i / max(1, n_emails)))
        msg = EmailMessage()
        reply = open_threads and rng.random() < 0.4
        if reply:
            parent_id, subject, client, acct, refs, parent_body = open_threads.pop(rng.randrange(len(open_threads)))
            am = str(acct["am_email"])
            msg["From"], msg["To"] = am, client
            msg["Subject"] = f"Re: {subject}"
            msg["In-Reply-To"] = parent_id
            msg["References"] = " ".join([*refs, parent_id])
            own = maker.body(client.split("@")[0].title(), str(acct["owner_am"]).split()[0],
                             "Account Manager | Northwind Analytics")
            quoted = "\n".join(f"> {line}" for line in parent_body.splitlines())
            body = f"{own}\nOn {format_datetime(when - timedelta(hours=3))}, {client} wrote:\n{quoted}\n"
            folder = sent
            outbound += 1
        else:
            acct = accts[rng.randrange(len(accts))]
            contacts = acct["contacts"]
            assert isinstance(contacts, list)
            client = rng.choice(contacts)
            body = maker.body(str(acct["owner_am"]).split()[0], client.split("@")[0].title(),
                              f"Operations | {acct['name']}")
            first = next((ln for ln in body.splitlines()[1:] if len(ln.split()) >= 3), "Question")
            subject = " ".join(first.split()[:7])[:80]
            msg["From"], msg["To"] = client, str(acct["am_email"])
            msg["Subject"] = subject
            refs = []
            folder = inbox
            inbound += 1
        msg_id = f"<bench.{seed}.{i}@bench.example>"  # deterministic: two corpora of one seed are equal
        msg["Message-ID"] = msg_id
        msg["Date"] = format_datetime(when)
        msg.set_content(body)
        if folder is inbox:
            open_threads.append((msg_id, subject, client, acct, refs, body))
        (folder / f"{int(when.timestamp())}.{i}.bench:2,S").write_bytes(msg.as_bytes(policy=email.policy.SMTP))
    meetings = sorted(p for split in ("train", "val") for p in (shared_data / "qmsum" / split).glob("*.json"))
    for j in range(n_transcripts):
        src = meetings[j % len(meetings)]
        acct = accts[j % len(accts)]
        day = as_of - timedelta(days=1 + (j * 3) % 58)
        dest = out / "transcripts" / str(acct["id"]) / f"{day.isoformat()}-{src.stem}-{j}.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(src.read_text(encoding="utf-8"))
        # a unique first turn so repeated meetings are distinct files (content-hash keyed)
        data["meeting_transcripts"] = [{"speaker": "Note", "content": f"Meeting {j}."}] + data["meeting_transcripts"]
        dest.write_text(json.dumps(data), encoding="utf-8")
    config = out / "config.toml"
    config.write_text(
        """[database]
path = "triage.duckdb"
[org]
name = "Northwind Analytics"
our_domains = ["northwind.example"]
accounts_file = "accounts.toml"
internal_people = ["Dana Whitfield", "Luis Romero", "Mei Tanaka", "Ola Berg"]
[[sources.local]]
name = "bench"
path = "mail"
[transcripts]
paths = ["transcripts"]
[output]
html_path = "triage-today.html"
""",
        encoding="utf-8",
    )
    return Corpus(out, config, n_emails, inbound, outbound, n_transcripts)


def corpus_stats(root: Path, shared_data: Path) -> dict[str, object]:
    """Duplicate-sentence share of a built corpus's mail next to the real Enron dev mail's."""
    from triage.parse.mime import parse_mail

    files = sorted(p for p in (root / "mail").rglob("*") if p.is_file() and p.parent.name in ("cur", "new"))
    bodies = [parse_mail(p.read_bytes()).new_text for p in files]
    real = [parse_mail(f"Subject: x\n\n{b}".encode()).new_text for _, b in enron_bodies(shared_data / "enron-maildir")]
    n, share = duplicate_share(bodies)
    rn, rshare = duplicate_share(real)
    return {"emails": len(files), "distinct_bodies": len(set(bodies)), "sentences": n,
            "duplicate_sentence_share": round(share, 3), "enron_dev_bodies": len(real),
            "enron_dev_sentences": rn, "enron_dev_duplicate_sentence_share": round(rshare, 3)}


if __name__ == "__main__":
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    ap = argparse.ArgumentParser(description="How realistic a built corpus is "
                                 "(python bench/corpus.py bench/out/corpus-10000)")
    ap.add_argument("root", type=Path)
    ap.add_argument("--shared-data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    a = ap.parse_args()
    print(json.dumps(corpus_stats(a.root, a.shared_data), indent=2))
