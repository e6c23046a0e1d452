"""The ``runs`` table: one row per run with counts, per-stage seconds and the outcome."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from triage.db import Database
from triage.errors import RunFailedError, TriageError
from triage.log import get_logger
from triage.secrets import redact

__all__ = ["RunRecorder", "RunSummary", "clean_failure", "run_clean"]

_log = get_logger("runs")

_COUNTERS = ("fetched", "parsed", "transcripts", "quarantined", "sentences", "signals", "accounts_listed")


@dataclass
class RunSummary:
    run_id: str
    as_of: date
    status: str = "running"
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COUNTERS, 0))
    stage_seconds: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    error: str | None = None
    html_path: str | None = None
    digests_sent: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            **self.counts,
            "stage_seconds": self.stage_seconds,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "html_path": self.html_path,
            "digests_sent": self.digests_sent,
        }


def clean_failure(stage: str, error: BaseException) -> BaseException:
    """What a failed flow run may leave in Prefect: our own error without what it was chained to.

    Prefect pickles the exception a flow run ends with into its result storage (with tblib installed,
    as Dask installs it, the pickle keeps the whole chain: cause and context) and writes its text into
    its database. A library error's text can quote a line of client mail (a ``UnicodeDecodeError`` even
    carries the bytes), and a third-party error under one of ours can quote a key. So one of our errors
    goes on without its chain, and anything else becomes a :class:`RunFailedError` naming the stage and
    the error's type. The original, with its traceback, is logged on this process's terminal at debug
    level (``-vv``), never through Prefect's loggers. Raise the result outside an ``except`` block, or
    Python chains the error being handled to it again."""
    if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: as they are
        return error
    if not isinstance(error, TriageError) or error.__cause__ is not None or error.__context__ is not None:
        _log.debug("the %s stage failed", stage, exc_info=(type(error), error, error.__traceback__))
    if isinstance(error, TriageError):
        error.__cause__ = error.__context__ = None
        error.__suppress_context__ = True
        return error
    return RunFailedError(f"the run failed in its {stage} stage: {type(error).__name__} (`-vv` shows the traceback)")


T = TypeVar("T")


def run_clean(stage: str, work: Callable[[], T]) -> T:
    """``work()``; if it fails, the failure as :func:`clean_failure` makes it, raised outside the handler
    (for flows with nothing to record on failure; the nightly flow records it in its run row first)."""
    try:
        return work()
    except BaseException as e:
        failure = clean_failure(stage, e)
    raise failure


class RunRecorder:
    """Writes the run row at start, and again (counts, timings, status) at the end."""

    def __init__(self, db: Database, as_of: date, *, flow_run_id: str | None = None) -> None:
        self.db = db
        self.summary = RunSummary(run_id=str(uuid.uuid4()), as_of=as_of)
        self._flow_run_id = flow_run_id
        self._t0 = time.perf_counter()
        #: the stage running now (for the failure's message)
        self.current = "start"

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    def start(self) -> RunSummary:
        """Record the run; earlier runs still marked running died (killed, power loss): mark them."""
        with self.db.write() as con:
            con.execute(
                "UPDATE runs SET status = 'interrupted', error = 'the process ended before the run finished' "
                "WHERE status = 'running'"
            )
            con.execute(
                "INSERT INTO runs (run_id, flow_run_id, started_at, status, as_of) VALUES (?, ?, ?, 'running', ?)",
                [self.run_id, self._flow_run_id, datetime.now(UTC), self.summary.as_of],
            )
        return self.summary

    def add(self, **counts: int) -> None:
        for k, v in counts.items():
            if k not in self.summary.counts:
                raise KeyError(f"unknown run counter {k!r}; known: {', '.join(_COUNTERS)}")
            self.summary.counts[k] += int(v)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage; when it completes, store the counts so far (readers of a running run, such
        as the page the publish stage writes, see them instead of zeros)."""
        t = time.perf_counter()
        self.current = name
        try:
            yield
        finally:
            self.summary.stage_seconds[name] = round(
                self.summary.stage_seconds.get(name, 0.0) + time.perf_counter() - t, 3
            )
        self.checkpoint()

    def checkpoint(self) -> None:
        """Store the counts and stage timings so far; the run stays ``running``."""
        s = self.summary
        with self.db.write() as con:
            con.execute(
                f"""UPDATE runs SET stage_seconds = ?, {", ".join(f"{c} = ?" for c in _COUNTERS)}
                    WHERE run_id = ?""",
                [json.dumps(s.stage_seconds), *(s.counts[c] for c in _COUNTERS), self.run_id],
            )

    def finish(self, *, error: BaseException | None = None) -> RunSummary:
        s = self.summary
        s.duration_s = time.perf_counter() - self._t0
        s.status = "failed" if error else "completed"
        s.error = (redact(str(error)).splitlines() or [type(error).__name__])[0][:500] if error else None
        with self.db.write() as con:
            con.execute(
                f"""UPDATE runs SET finished_at = ?, status = ?, duration_s = ?, stage_seconds = ?, error = ?,
                    {", ".join(f"{c} = ?" for c in _COUNTERS)} WHERE run_id = ?""",
                [
                    datetime.now(UTC),
                    s.status,
                    s.duration_s,
                    json.dumps(s.stage_seconds),
                    s.error,
                    *(s.counts[c] for c in _COUNTERS),
                    self.run_id,
                ],
            )
        return s
