"""What ``triage check-config`` verifies beyond the settings themselves, without running anything."""

from __future__ import annotations

from triage.errors import ConfigError
from triage.parse.accounts_file import read_accounts_file
from triage.settings import Settings

__all__ = ["check_setup"]


def check_setup(settings: Settings) -> int:
    """Check what a run would stop on: the accounts file (read and validated exactly as the run
    reads it: missing, empty, duplicate ids, a domain or contact of two accounts, one of our own
    domains), local mail folders that do not exist, and a configuration that reads nothing.

    Returns the number of accounts; raises :class:`ConfigError` listing every problem found.
    """
    problems: list[str] = []
    accounts = 0
    path = settings.org.accounts_file
    if path is not None:
        try:
            accounts = len(read_accounts_file(path, our_domains=settings.org.our_domains))
        except ConfigError as e:
            problems.append(str(e))
    for src in settings.sources.local:
        folder = src.path.expanduser()
        if not folder.is_dir():
            problems.append(f"sources.local {src.name!r}: mail folder not found: {folder} (path)")
    if not settings.sources.local and not settings.sources.imap and not settings.transcripts.paths:
        problems.append(
            "no mail source ([[sources.local]], [[sources.imap]]) and no transcripts.paths: a run would read nothing"
        )
    if problems:
        origin = settings.config_file or "the embedded defaults"
        raise ConfigError(f"invalid setup in {origin}:\n" + "\n".join(f"  {p}" for p in problems))
    return accounts
