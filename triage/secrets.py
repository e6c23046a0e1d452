"""The process's registry of secrets and their redaction: the lowest floor, imported by errors and log.

A secret (database key, IMAP/SMTP password, OAuth2 token, the web app's signing secret) is
registered the moment it is read from the environment (:func:`register_secret`); from then on
:func:`redact` replaces it with ``***`` wherever text is about to leave the process: every
:class:`triage.errors.TriageError` message (at construction), every log record (message, arguments
and formatted traceback, :mod:`triage.log`).
"""

from __future__ import annotations

import threading

__all__ = ["REDACTED", "redact", "redact_bytes", "register_secret", "registered"]

REDACTED = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in an error or a log record from now on."""
    if not value or len(value) < 3:  # redacting "a" would mangle every message
        return
    with _lock:
        _secrets.add(value)
        stripped = value.strip()
        if len(stripped) >= 3:  # a key quoted without its spaces
            _secrets.add(stripped)


def registered() -> bool:
    return bool(_secrets)


def redact(text: str) -> str:
    """``text`` with every registered secret (longest first) replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_bytes(data: bytes) -> bytes:
    for secret in sorted(_secrets, key=len, reverse=True):
        data = data.replace(secret.encode("utf-8", "surrogateescape"), REDACTED.encode())
    return data
