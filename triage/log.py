"""Logging helpers: one ``triage`` logger tree and secret redaction for every log record.

Secrets (IMAP/SMTP passwords, OAuth2 tokens) are registered with :func:`register_secret` the moment
they are read from the environment. A log-record factory then replaces every registered value with
``***`` in the message *and* its arguments, whatever logger emitted it (ours, imapclient's, Prefect's),
so a secret cannot reach a log file or the terminal by accident.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["get_logger", "redact", "register_secret"]

_REDACTED = "***"
_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def get_logger(name: str) -> logging.Logger:
    """Return a logger under the ``triage`` namespace (``triage.<name>``)."""
    return logging.getLogger(name if name.startswith("triage") else f"triage.{name}")


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in any log record from now on."""
    if not value or len(value) < 3:  # redacting "a" would mangle every message
        return
    with _lock:
        _secrets.add(value)
    _install()


def redact(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        for secret in _secrets:
            value = value.replace(secret.encode(), _REDACTED.encode())
        return value
    return value


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _secrets:
                record.msg = _redact_value(record.msg) if isinstance(record.msg, str | bytes) else record.msg
                if isinstance(record.args, tuple):
                    record.args = tuple(_redact_value(a) for a in record.args)
                elif isinstance(record.args, dict):
                    record.args = {k: _redact_value(v) for k, v in record.args.items()}
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
