"""Logging helpers: one ``triage`` logger tree and secret redaction for every log record.

Secrets (database key, IMAP/SMTP passwords, OAuth2 tokens) are registered with :func:`register_secret`
(:mod:`triage.secrets`) the moment they are read from the environment. A log-record factory then
replaces every registered value with ``***`` in the message, its arguments *and* the formatted
traceback of an attached exception (a chained third-party error may quote a secret), whatever logger
emitted it (ours, imapclient's, Prefect's, including Prefect's API log handler that stores records in
its database), so a secret cannot reach a log file, the terminal or Prefect by accident.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from triage.errors import TriageError
from triage.secrets import redact, redact_bytes, registered
from triage.secrets import register_secret as _register

__all__ = ["get_logger", "keep_tracebacks_local", "quiet_run_failures", "redact", "register_secret"]

_lock = threading.Lock()
_installed = False


def get_logger(name: str) -> logging.Logger:
    """Return a logger under the ``triage`` namespace (``triage.<name>``)."""
    return logging.getLogger(name if name.startswith("triage") else f"triage.{name}")


def register_secret(value: str | None) -> None:
    """Make sure ``value`` never appears in any error or log record from now on."""
    _register(value)
    _install()


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact_bytes(value)
    try:  # an exception or any object formatted with %s later: redacted text when it quotes a secret
        text = str(value)
    except Exception:
        return value
    clean = redact(text)
    return clean if clean != text else value


_FORMATTER = logging.Formatter()


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if registered():
                record.msg = _redact_value(record.msg)
                if isinstance(record.args, tuple):
                    record.args = tuple(_redact_value(a) for a in record.args)
                elif isinstance(record.args, dict):
                    record.args = {k: _redact_value(v) for k, v in record.args.items()}
                if record.exc_info and record.exc_info[0] is not None:
                    # formatted now, redacted: handlers use exc_text as it is (the traceback of a chained
                    # third-party error may quote a secret)
                    record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
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


def _keep_tracebacks_local(handler: logging.Handler) -> None:
    """Make a handler that ships records into Prefect's database (its API log handlers) format them
    without their traceback. A traceback quotes the values of a failing statement (a key, a line of
    client text); it belongs on the terminal of whoever runs the flow (``-vv``), not in a store. The
    record itself is left as it is for the other handlers (the console)."""
    if getattr(handler, "_triage_local_tracebacks", False):
        return
    plain = handler.format

    def format_without_traceback(record: logging.LogRecord) -> str:
        if not (record.exc_info or record.exc_text or record.stack_info):
            return plain(record)
        clean = logging.makeLogRecord(record.__dict__)
        clean.exc_info = None
        clean.exc_text = None
        clean.stack_info = None
        return plain(clean)

    handler.format = format_without_traceback  # type: ignore[method-assign]
    handler._triage_local_tracebacks = True  # type: ignore[attr-defined]


def _prefect_api_handlers() -> list[logging.Handler]:
    found: list[logging.Handler] = []
    for logger in [logging.getLogger(), *(v for v in logging.Logger.manager.loggerDict.values()
                                          if isinstance(v, logging.Logger))]:
        found += [h for h in logger.handlers if type(h).__name__ in ("APILogHandler", "WorkerAPILogHandler")]
    return found


def quiet_run_failures(verbose: int) -> None:
    """Install (or update) the filter of :class:`_RunFailureFilter` on Prefect's run loggers, and
    keep tracebacks out of Prefect's stored logs (:func:`_keep_tracebacks_local`)."""
    for name in PREFECT_RUN_LOGGERS:
        logger = logging.getLogger(name)
        for f in list(logger.filters):
            if isinstance(f, _RunFailureFilter):
                logger.removeFilter(f)
        logger.addFilter(_RunFailureFilter(verbose))
    keep_tracebacks_local()


def keep_tracebacks_local() -> None:
    """Prefect's API log handlers (they store records in Prefect's database) get no tracebacks; called
    by the CLI and at the start of every flow run (a served deployment runs flows in processes of their own)."""
    for handler in _prefect_api_handlers():
        _keep_tracebacks_local(handler)
