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

from triage.errors import TriageError

__all__ = ["get_logger", "quiet_run_failures", "redact", "register_secret"]

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


#: the loggers through which Prefect reports a failed task or flow run (with the traceback attached)
PREFECT_RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs", "prefect.task_engine", "prefect.flow_engine")


def _expected_names() -> tuple[str, ...]:
    names: list[str] = []
    todo: list[type[BaseException]] = [TriageError]
    while todo:
        cls = todo.pop()
        names.append(cls.__name__)
        todo += cls.__subclasses__()
    return tuple(names)


class _RunFailureFilter(logging.Filter):
    """Prefect logs every failed task and flow run with its traceback, before the CLI prints the one
    ``Error: ...`` line of an expected error. Below ``-vv`` the tracebacks are dropped; without
    ``-v`` the records about an expected error (:class:`TriageError`) are dropped as well, except
    those announcing a retry."""

    def __init__(self, verbose: int) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose >= 2:
            return True
        exc = record.exc_info[1] if record.exc_info else None
        message = record.getMessage()
        if exc is not None:
            expected = isinstance(exc, TriageError)
        else:
            expected = any(f"{name}:" in message or f"{name}(" in message for name in _expected_names())
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return not (expected and self.verbose == 0 and "Retry " not in message)


def quiet_run_failures(verbose: int) -> None:
    """Install (or update) the filter of :class:`_RunFailureFilter` on Prefect's run loggers."""
    for name in PREFECT_RUN_LOGGERS:
        logger = logging.getLogger(name)
        for f in list(logger.filters):
            if isinstance(f, _RunFailureFilter):
                logger.removeFilter(f)
        logger.addFilter(_RunFailureFilter(verbose))
