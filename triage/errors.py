"""One exception tree for the whole project.

Every error the library raises on purpose is a :class:`TriageError`. Third-party errors are mapped
to one of these at the boundary (``raise IngestError(...) from e``) so that the CLI can print a
single clear ``Error: ...`` line and callers can catch by *why* it happened.

Every message is redacted when the error is made (:mod:`triage.secrets`): a registered secret (the
database key, a password) quoted by a third-party error we wrap never reaches the terminal, a log, or
the exception Prefect persists for a failed run.
"""

from __future__ import annotations

from typing import Any

from triage.secrets import redact

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectionLostError",
    "DatabaseError",
    "DatabaseKeyError",
    "DatabaseLockedError",
    "DetectorError",
    "IngestError",
    "ModelNotFoundError",
    "OutputError",
    "ParseError",
    "RunFailedError",
    "TranscriptError",
    "TriageError",
    "UnknownAccountError",
    "UnknownSignalError",
]


class TriageError(Exception):
    """Base class of every error raised by triage on purpose."""

    #: Process exit code the CLI uses for this error.
    exit_code: int = 1

    def __init__(self, *args: Any) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class ConfigError(TriageError):
    """The configuration file or environment is invalid (bad TOML, unknown key, missing secret)."""

    exit_code = 2


class DatabaseError(TriageError):
    """DuckDB could not be opened, migrated or written."""


class DatabaseKeyError(DatabaseError):
    """The database file and the configured encryption key do not match (wrong, missing or needless key).
    The message never contains the key."""

    exit_code = 2


class DatabaseLockedError(DatabaseError):
    """Another process held the DuckDB file for longer than the configured lock timeout."""


class IngestError(TriageError):
    """A mail or transcript source could not be read."""


class AuthenticationError(IngestError):
    """The mail server refused our credentials. The message never contains the secret."""

    exit_code = 3


class ConnectionLostError(IngestError):
    """The connection to the mail server dropped; safe to retry (work is resumable)."""


class ParseError(TriageError):
    """One input item (a mail, a transcript) could not be parsed; it goes to quarantine."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        #: short machine-friendly reason, stored in ``quarantine.reason``
        self.reason = reason
        #: human detail, stored in ``quarantine.detail``
        self.detail = redact(detail)


class TranscriptError(ParseError):
    """A transcript file is broken (bad timestamps, no speaker turns, invalid JSON...)."""


class DetectorError(TriageError):
    """The NLP pipeline could not be built or run."""


class ModelNotFoundError(DetectorError):
    """A trained head is missing from ``models/``; the message says how to train it."""


class UnknownAccountError(TriageError):
    """An account id given on the command line is not in the accounts file."""


class UnknownSignalError(TriageError):
    """A signal id given on the command line does not exist in the database."""


class RunFailedError(TriageError):
    """A flow stage failed on something unexpected (a bug, a library error). The message names the
    stage and the error's type only: the original error (its text may quote client data) stays chained
    in this process for ``-vv`` and is never persisted by Prefect."""


class OutputError(TriageError):
    """The HTML page or the e-mail digest could not be written or sent."""
