"""Helpers for the privacy tests (issue 16): keys, and the CLI run in a subprocess of this checkout."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

__all__ = ["HER_WORDS", "KEY_ENV", "OTHERS_WORDS", "PRIYA", "cli_env", "leftovers", "new_key", "run_cli"]

REPO = Path(__file__).resolve().parents[2]
#: the variable the tests keep the database key in
KEY_ENV = "TRIAGE_TEST_DB_KEY"

#: the sample's frustrated contact at acme, erased by the privacy tests
PRIYA = "priya.shah@acme-logistics.example"
#: her words: in her mails (also quoted in her later replies) and her meeting turns
HER_WORDS = [
    "Honestly, this is unacceptable",
    "We are now evaluating other vendors",
    "This is the third time I'm raising it",
    "the SSO problem since your November 6 release is hurting us",
    "our security team hates",
    "VP Operations | Acme Logistics",
]
#: what other people said, which must stay
OTHERS_WORDS = ["Can you send it to us?", "I'll send you the SOC 2 report by Friday."]


def _texts(path: Path) -> list[bytes]:
    """A file's bytes, and for what Prefect's result storage holds (base64 of a pickle) the decoded bytes."""
    data = path.read_bytes()
    out = [data]
    with contextlib.suppress(binascii.Error, ValueError):
        out.append(base64.b64decode(data, validate=False))
    return out


def leftovers(folders: list[Path], needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for every needle found, in any case, in any file below ``folders`` (database, WAL,
    pages, Prefect's database and result storage, base64 decoded too)."""
    found = []
    wanted = [(n, n.lower().encode()) for n in needles if n]
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink()):
            blobs = [b.lower() for b in _texts(path)]
            found += [(str(path), n) for n, low in wanted if any(low in b for b in blobs)]
    return found


def new_key() -> str:
    return secrets.token_urlsafe(32)


def cli_env(key_env: str | None) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout first on the path, the key variable named."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    if key_env:
        env["TRIAGE_DATABASE__ENCRYPTION_KEY_ENV"] = key_env
    return env


def run_cli(args: list[str], env: dict[str, str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
