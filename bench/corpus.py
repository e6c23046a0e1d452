"""Build a realistic benchmark corpus from the real public data in ../shared/data.

Bodies are real Enron e-mails (dev custodians only) and transcripts are real QMSum meetings (train/val
only); the headers are rewritten so the mail reads as client traffic of ``n_accounts`` accounts with
our company (northwind.example): ~60% inbound client mail (new threads and follow-ups), ~40% our
replies in the Sent folder (In-Reply-To/References set), spread over the 60 days before ``as_of``.
Writes a Maildir (mail/INBOX, mail/Sent), transcripts/<account>/<date>-<name>.json, accounts.toml
and config.toml, and returns what it wrote.
"""

from __future__ import annotations

import email
import email.policy
import json
import random
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

__all__ = ["Corpus", "enron_bodies", "make_corpus"]

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
    bodies = enron_bodies(shared_data / "enron-maildir")
    accts = _accounts(n_accounts)
    _write_accounts(out / "accounts.toml", accts)
    inbox, sent = _maildir(out / "mail", "INBOX"), _maildir(out / "mail", "Sent")
    start = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) - timedelta(days=60)
    open_threads: list[tuple[str, str, str, dict[str, object], list[str]]] = []
    inbound = outbound = 0
    for i in range(n_emails):
        when = start + timedelta(seconds=int(60 * 86400 * i / max(1, n_emails)))
        msg = EmailMessage()
        reply = open_threads and rng.random() < 0.4
        if reply:
            parent_id, subject, client, acct, refs = open_threads.pop(rng.randrange(len(open_threads)))
            am = str(acct["am_email"])
            msg["From"], msg["To"] = am, client
            msg["Subject"] = f"Re: {subject}"
            msg["In-Reply-To"] = parent_id
            msg["References"] = " ".join([*refs, parent_id])
            folder = sent
            outbound += 1
        else:
            acct = accts[rng.randrange(len(accts))]
            contacts = acct["contacts"]
            assert isinstance(contacts, list)
            client = rng.choice(contacts)
            subject = bodies[i % len(bodies)][0][:80]
            msg["From"], msg["To"] = client, str(acct["am_email"])
            msg["Subject"] = subject
            refs = []
            folder = inbox
            inbound += 1
        msg_id = f"<bench.{seed}.{i}@bench.example>"  # deterministic: two corpora of one seed are equal
        msg["Message-ID"] = msg_id
        msg["Date"] = format_datetime(when)
        msg.set_content(bodies[(i * 31) % len(bodies)][1])
        if folder is inbox:
            open_threads.append((msg_id, subject, client, acct, refs))
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
